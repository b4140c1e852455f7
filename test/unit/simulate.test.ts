import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { once } from 'node:events';
import { Aedes, type AedesOptions } from 'aedes';
import { connectAsync } from 'mqtt';
import { simulate, type LedgerLine } from '../../src/sim/simulate.js';
import { BAD_KINDS } from '../../src/sim/bad-messages.js';

const PASSWORD = 'fleet-secret';

function tryJson(p: Buffer): { seq?: unknown } | null {
  try {
    return JSON.parse(p.toString());
  } catch {
    return null;
  }
}

/** An in-process Aedes broker on an ephemeral port; devices must present PASSWORD. */
async function startBroker(opts: AedesOptions = {}) {
  const broker = await Aedes.createBroker({
    authenticate: (_client, _username, password, done) => {
      if (password?.toString() === PASSWORD) return done(null, true);
      const err = Object.assign(new Error('bad password'), { returnCode: 4 as const });
      done(err, false);
    },
    ...opts,
  });
  const server = net.createServer(broker.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    async close() {
      await new Promise<void>((r) => broker.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('simulate against an in-process Aedes broker', () => {
  let broker: Awaited<ReturnType<typeof startBroker>>;
  let dir: string;
  before(async () => {
    broker = await startBroker();
    dir = mkdtempSync(join(tmpdir(), 'sensorpipe-sim-'));
  });
  after(async () => {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes 500 messages from 5 sensors with 10% bad ones, all acknowledged and in the ledger', async () => {
    const seen = new Map<string, Buffer[]>();
    let received = 0;
    const sub = await connectAsync(broker.url, { clientId: 'observer', username: 'observer', password: PASSWORD, reconnectPeriod: 0 });
    sub.on('message', (topic, payload) => {
      received++;
      seen.set(topic, [...(seen.get(topic) ?? []), payload]);
    });
    await sub.subscribeAsync('sensors/+/telemetry', { qos: 1 });

    const ledgerPath = join(dir, 'ledger.jsonl');
    const progress: number[] = [];
    const report = await simulate(
      { url: broker.url, sensors: 5, count: 500, badRatio: 0.1, password: PASSWORD, seed: 42, ledger: ledgerPath },
      { onProgress: (p) => progress.push(p.acked) },
    );
    assert.equal(report.sent, 500);
    assert.equal(report.acked, 500);
    assert.equal(report.failed, 0);
    assert.equal(report.skipped, 0);
    assert.equal(report.stopReason, null);
    assert.equal(progress.at(-1), 500, 'the last progress call reports every ack');

    const deadline = Date.now() + 5000;
    while (received < 500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await sub.endAsync();
    assert.equal(received, 500, 'the subscriber saw every message');

    const lines: LedgerLine[] = readFileSync(ledgerPath, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 500);
    const counts: Record<string, number> = {};
    for (const l of lines) counts[l.expected] = (counts[l.expected] ?? 0) + 1;
    assert.deepEqual(counts, report.byExpected);
    assert.equal(counts.accepted, 450);
    for (const kind of BAD_KINDS) assert.equal(counts[kind], 5, `5 messages of kind ${kind}`);

    // Every sensor sent 100 messages, seq 1..100; (sensor, seq) is a key of the ledger.
    const keys = new Set(lines.map((l) => `${l.sensor}#${l.seq}`));
    assert.equal(keys.size, 500);
    assert.deepEqual([...new Set(lines.map((l) => l.sensor))].sort(), ['sim-0001', 'sim-0002', 'sim-0003', 'sim-0004', 'sim-0005']);

    // Valid ledger lines carry the readings exactly as the subscriber received them.
    for (const l of lines.filter((x) => x.expected === 'accepted')) {
      assert.equal(l.topic, `sensors/${l.sensor}/telemetry`);
      const match = (seen.get(l.topic) ?? []).map(tryJson).find((b) => b?.seq === l.seq);
      assert.deepEqual(match, { ts: l.ts, seq: l.seq, readings: l.readings });
    }
    // Valid readings of one sensor never share a timestamp, and none is in the future.
    const valid = lines.filter((x) => x.expected === 'accepted');
    assert.equal(new Set(valid.map((l) => `${l.sensor}@${l.ts}`)).size, valid.length);
    assert.ok(valid.every((l) => Date.parse(l.ts!) <= Date.now()));
    // Each conflicting duplicate re-sends the ts of an acknowledged valid reading of the same sensor.
    for (const c of lines.filter((x) => x.expected === 'conflicting_duplicate')) {
      const original = valid.find((v) => v.sensor === c.sensor && v.ts === c.ts);
      assert.ok(original, `original of ${JSON.stringify(c)}`);
      assert.ok(original.seq < c.seq);
    }
    const big = [...seen.values()].flat().filter((p) => p.length > 262144);
    assert.equal(big.length, 5, 'payload_too_large messages are just over the default limit');
    assert.ok(big.every((p) => p.length === 262145));
  });

  it('paces messages at the requested rate', async () => {
    const report = await simulate({ url: broker.url, sensors: 2, count: 40, rate: 200, password: PASSWORD });
    assert.equal(report.acked, 40);
    assert.ok(report.durationMs >= 180, `40 messages at 200/s took ${report.durationMs} ms`);
  });

  it('stops publishing after a message gets no PUBACK, and resolves once the in-flight ones settle', async () => {
    let authorized = 0;
    // A broker that stops acknowledging after 50 messages (as a full spool does).
    const stalling = await startBroker({
      authorizePublish: (_client, _packet, callback) => {
        if (++authorized <= 50) callback(null);
      },
    });
    try {
      const ledgerPath = join(dir, 'stalled.jsonl');
      const t0 = Date.now();
      const report = await simulate({ url: stalling.url, sensors: 2, count: 1000, password: PASSWORD, ledger: ledgerPath, ackTimeoutMs: 300, maxInflight: 8 });
      assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
      assert.equal(report.acked, 50);
      assert.ok(report.failed >= 1 && report.failed <= 8, `failed ${report.failed}`);
      assert.equal(report.sent, report.acked + report.failed);
      assert.match(report.stopReason ?? '', /no PUBACK within 300 ms/);
      assert.equal(readFileSync(ledgerPath, 'utf8').trimEnd().split('\n').length, 50);
    } finally {
      await stalling.close();
    }
  });

  it('rejects quickly with the broker URL and the reason when the password is wrong', async () => {
    const t0 = Date.now();
    await assert.rejects(
      simulate({ url: broker.url, sensors: 3, count: 10, password: 'wrong' }),
      (err: Error) => {
        assert.match(err.message, new RegExp(`cannot connect to ${broker.url.replace(/[.]/g, '\\.')} as sim-000\\d`));
        assert.match(err.message, /Bad username or password/);
        return true;
      },
    );
    assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
  });

  it('gives up after connectTimeoutMs when the server never answers CONNECT', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((sock) => sockets.push(sock));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const { port } = silent.address() as net.AddressInfo;
    try {
      const t0 = Date.now();
      await assert.rejects(
        simulate({ url: `mqtt://127.0.0.1:${port}`, sensors: 3, count: 3, password: PASSWORD, connectTimeoutMs: 300 }),
        /cannot connect to mqtt:\/\/127\.0\.0\.1:\d+ as sim-000\d: no CONNACK within 300 ms/,
      );
      assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('rejects with a clear error when nothing listens at the URL', async () => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((r) => server.close(() => r()));
    await assert.rejects(simulate({ url: `mqtt://127.0.0.1:${port}`, sensors: 1, count: 1, demo: true }), /cannot connect to mqtt:\/\/127\.0\.0\.1:\d+ as sim-0001: .*ECONNREFUSED/);
  });
});
