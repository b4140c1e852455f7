// Notifiers against a real local HTTP receiver: the payload each kind sends, retries after 5xx,
// giving up (and showing it in state()), and no retry on a 4xx that waiting cannot fix.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Notification } from '../../src/core/notify.js';
import { silentLogger, type Logger } from '../../src/core/types.js';
import { HttpNotifier } from '../../src/notifiers/http-notifier.js';
import { Notifiers } from '../../src/notifiers/notifier-set.js';
import { notifiersConfigSchema } from '../../src/alerting/config.js';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

/** A receiver answering each request with the next status of `script` (then 200). */
async function receiver() {
  const got: Received[] = [];
  const scripts = new Map<string, number[]>();
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      got.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(data) as Record<string, unknown> });
      const status = scripts.get(req.url ?? '')?.shift() ?? 200;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'receiver says no');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  after(() => server.close());
  return { got, base, script: (path: string, statuses: number[]) => scripts.set(path, statuses) };
}

const NOTE: Notification = {
  kind: 'alert',
  title: 'FIRING: error rate 3.20 % (> 1.00 %)',
  text: 'error rate 3.20 % (> 1.00 %): 32 of 1000 items <quarantined> & rejected. [Open](http://dash.example/#/alerts)',
  severity: 'critical',
  status: 'firing',
  facts: [
    { name: 'rule', value: 'error_rate' },
    { name: 'value', value: '3.20 %' },
  ],
  url: 'http://dash.example/#/alerts',
  key: 'error_rate',
  at: Date.UTC(2026, 11, 3, 12, 0, 0),
  data: { alerts: [{ id: 'error_rate', value: 0.032 }] },
};

/** Keeps error lines, as the operator would see them in the log. */
function recordingLogger() {
  const errors: { obj: Record<string, unknown>; msg: string }[] = [];
  const logger = { ...silentLogger, error: (obj: object | string, msg?: string) => void errors.push({ obj: obj as Record<string, unknown>, msg: msg ?? String(obj) }), child: () => logger };
  return { logger, errors };
}

function notifier(name: string, kind: 'webhook' | 'slack' | 'teams', url: string, over: Record<string, unknown> = {}, logger: Logger = silentLogger) {
  const delays: number[] = [];
  const [cfg] = notifiersConfigSchema.parse([{ name, kind, url, ...over }]);
  const n = new HttpNotifier(cfg, { clock: { now: () => NOTE.at }, logger, sleep: async (ms) => void delays.push(ms) });
  return { n, delays };
}

test('each kind posts its own payload shape', async () => {
  const r = await receiver();
  const set = new Notifiers([
    notifier('hook', 'webhook', `${r.base}/hook`, { headers: { authorization: 'Bearer s3cret' } }).n,
    notifier('slack', 'slack', `${r.base}/slack`).n,
    notifier('teams', 'teams', `${r.base}/teams`).n,
    notifier('teams-legacy', 'teams', `${r.base}/teams-legacy`, { teamsFormat: 'messagecard' }).n,
  ]);
  const results = await set.broadcast(NOTE);
  assert.deepEqual(results.map((x) => [x.name, x.result.ok, x.result.attempts]), [['hook', true, 1], ['slack', true, 1], ['teams', true, 1], ['teams-legacy', true, 1]]);

  const hook = r.got.find((g) => g.path === '/hook')!;
  assert.equal(hook.headers['content-type'], 'application/json');
  assert.equal(hook.headers.authorization, 'Bearer s3cret');
  assert.equal(hook.body.source, 'sensorpipe');
  assert.equal(hook.body.status, 'firing');
  assert.equal(hook.body.at, '2026-12-03T12:00:00.000Z');
  assert.deepEqual(hook.body.data, NOTE.data);

  const slack = r.got.find((g) => g.path === '/slack')!.body as { text: string; blocks: { type: string; text?: { text: string }; fields?: unknown[]; elements?: { url: string }[] }[] };
  assert.match(slack.text, /FIRING: error rate/);
  assert.equal(slack.blocks[0].type, 'header');
  // Slack mrkdwn: <, >, & escaped, Markdown links as <url|text>
  assert.match(slack.blocks[1].text!.text, /&lt;quarantined&gt; &amp; rejected\. <http:\/\/dash\.example\/#\/alerts\|Open>/);
  assert.equal(slack.blocks[2].fields!.length, 2);
  assert.equal(slack.blocks[3].elements![0].url, NOTE.url);

  // Teams Workflows: an Adaptive Card in a message envelope
  const adaptive = r.got.find((g) => g.path === '/teams')!.body as { type: string; attachments: { contentType: string; content: { type: string; version: string; body: { type: string; text?: string; color?: string; facts?: unknown[] }[]; actions: { type: string; url: string }[] } }[] };
  assert.equal(adaptive.type, 'message');
  assert.equal(adaptive.attachments[0].contentType, 'application/vnd.microsoft.card.adaptive');
  const card = adaptive.attachments[0].content;
  assert.equal(card.type, 'AdaptiveCard');
  assert.deepEqual([card.body[0].text, card.body[0].color], [NOTE.title, 'Attention']);
  assert.deepEqual(card.body.find((b) => b.type === 'FactSet')!.facts, [{ title: 'rule', value: 'error_rate' }, { title: 'value', value: '3.20 %' }]);
  assert.deepEqual(card.actions[0], { type: 'Action.OpenUrl', title: 'Open in Sensorpipe', url: NOTE.url });
  // legacy connectors: a MessageCard
  const teams = r.got.find((g) => g.path === '/teams-legacy')!.body as Record<string, unknown> & { sections: { facts: unknown[] }[] };
  assert.equal(teams['@type'], 'MessageCard');
  assert.equal(teams['@context'], 'https://schema.org/extensions');
  assert.equal(teams.themeColor, 'D7263D');
  assert.equal(teams.title, NOTE.title);
  assert.deepEqual(teams.sections[0].facts, NOTE.facts);
  assert.deepEqual(set.states().map((s) => [s.name, s.status, s.sent]), [['hook', 'ok', 1], ['slack', 'ok', 1], ['teams', 'ok', 1], ['teams-legacy', 'ok', 1]]);
});

test('a 5xx is retried with exponential backoff until it succeeds', async () => {
  const r = await receiver();
  r.script('/flaky', [500, 503, 502]);
  const { n, delays } = notifier('flaky', 'slack', `${r.base}/flaky`, { initialDelayMs: 100, maxDelayMs: 250 });
  const res = await n.send(NOTE);
  assert.deepEqual(res, { ok: true, attempts: 4 });
  assert.equal(r.got.length, 4);
  assert.deepEqual(delays, [100, 200, 250]);
  assert.equal(n.state().status, 'ok');
});

test('giving up after maxAttempts shows the failure in state() until a send succeeds', async () => {
  const r = await receiver();
  r.script('/down', [500, 500, 500, 500, 500, 500]);
  const log = recordingLogger();
  const { n } = notifier('down', 'teams', `${r.base}/down`, { maxAttempts: 3, initialDelayMs: 10 }, log.logger);
  const res = await n.send(NOTE);
  // one log line per notification given up: which notifier, what failed, what to check; never the URL path
  assert.equal(log.errors.length, 1);
  assert.match(log.errors[0].msg, /^notifier "down" \(teams\) could not deliver "FIRING: error rate.*": HTTP 500 .* after 3 attempts\. Check its url/);
  assert.equal(log.errors[0].obj.notifier, 'down');
  assert.equal(JSON.stringify(log.errors).includes('/down'), false);
  assert.equal(res.ok, false);
  assert.equal(res.attempts, 3);
  assert.match(res.error!, /HTTP 500 from 127\.0\.0\.1:\d+: receiver says no after 3 attempts/);
  const s = n.state();
  assert.equal(s.status, 'failing');
  assert.equal(s.failed, 1);
  assert.equal(s.consecutiveFailures, 1);
  assert.equal(s.lastError, res.error);
  assert.equal(JSON.stringify(s).includes('/down'), false, 'the URL (a secret for Slack/Teams) is not in the state');

  const again = await n.send(NOTE); // the receiver's last three 500s
  assert.equal(again.ok, false);
  assert.equal(n.state().consecutiveFailures, 2);
  const third = await n.send(NOTE);
  assert.equal(third.ok, true);
  assert.deepEqual([n.state().status, n.state().consecutiveFailures, n.state().sent, n.state().failed], ['ok', 0, 1, 2]);
});

test('a 404 (revoked webhook) is not retried; an unreachable host fails after its retries', async () => {
  const r = await receiver();
  r.script('/gone', [404]);
  const gone = notifier('gone', 'webhook', `${r.base}/gone`).n;
  const res = await gone.send(NOTE);
  assert.equal(res.ok, false);
  assert.equal(res.attempts, 1);
  assert.match(res.error!, /HTTP 404/);

  const { n, delays } = notifier('nowhere', 'webhook', 'http://127.0.0.1:1/hook', { maxAttempts: 2, initialDelayMs: 5 });
  const down = await n.send(NOTE);
  assert.equal(down.ok, false);
  assert.equal(down.attempts, 2);
  assert.deepEqual(delays, [5]);
  assert.match(down.error!, /127\.0\.0\.1:1/);
});
