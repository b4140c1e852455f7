/**
 * Payloads per notifier kind, as pure functions of a Notification.
 * - webhook: the Notification as JSON (times as ISO text), plus `source: "sensorpipe"`.
 * - slack: an incoming-webhook message, `text` (the fallback shown in notifications) and Block Kit
 *   `blocks` (header, text, fields, a link button). Mattermost and Rocket.Chat accept the same.
 * - teams, `teamsFormat: adaptive` (default): an Adaptive Card in a `message` envelope. Teams
 *   Workflows ("post to a channel when a webhook request is received", the replacement of the
 *   retired Microsoft 365 connectors) accept only Adaptive Cards; classic incoming webhooks read them too.
 * - teams, `teamsFormat: messagecard`: the legacy Office 365 connector MessageCard, for connectors
 *   and proxies that still expect it.
 */
import type { Notification, NotifierState } from '../core/notify.js';

const COLOURS = { critical: 'D7263D', warning: 'F4A259', info: '2E86AB', resolved: '3BB273' } as const;
const ICONS = { critical: ':red_circle:', warning: ':large_orange_circle:', info: ':large_blue_circle:', resolved: ':white_check_mark:' } as const;

const colourKey = (n: Notification) => (n.status === 'resolved' ? 'resolved' : n.severity);

export function webhookPayload(n: Notification): Record<string, unknown> {
  return {
    source: 'sensorpipe',
    kind: n.kind,
    key: n.key,
    status: n.status ?? null,
    severity: n.severity,
    title: n.title,
    text: n.text,
    facts: n.facts ?? [],
    url: n.url ?? null,
    at: new Date(n.at).toISOString(),
    data: n.data ?? {},
  };
}

/** Slack mrkdwn: `&`, `<`, `>` must be escaped; Markdown links become `<url|text>`. */
function slackText(s: string): string {
  const escaped = s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return escaped.replace(/\[([^\]]+)\]\((https?:[^)\s]+)\)/g, '<$2|$1>');
}

export function slackPayload(n: Notification): Record<string, unknown> {
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: n.title.slice(0, 150), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: slackText(n.text).slice(0, 3000) || ' ' } },
  ];
  const facts = (n.facts ?? []).slice(0, 10);
  if (facts.length) {
    blocks.push({ type: 'section', fields: facts.map((f) => ({ type: 'mrkdwn', text: `*${slackText(f.name)}*\n${slackText(f.value)}`.slice(0, 2000) })) });
  }
  if (n.url) {
    blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in Sensorpipe' }, url: n.url }] });
  }
  return { text: `${ICONS[colourKey(n)]} ${slackText(n.title)}`, blocks };
}

export function teamsPayload(n: Notification): Record<string, unknown> {
  const card: Record<string, unknown> = {
    '@type': 'MessageCard',
    '@context': 'https://schema.org/extensions',
    themeColor: COLOURS[colourKey(n)],
    summary: n.title,
    title: n.title,
    sections: [{ text: n.text.replace(/\n/g, '  \n'), facts: (n.facts ?? []).map((f) => ({ name: f.name, value: f.value })) }],
  };
  if (n.url) card.potentialAction = [{ '@type': 'OpenUri', name: 'Open in Sensorpipe', targets: [{ os: 'default', uri: n.url }] }];
  return card;
}

const ADAPTIVE_COLOURS = { critical: 'Attention', warning: 'Warning', info: 'Accent', resolved: 'Good' } as const;

export function teamsAdaptivePayload(n: Notification): Record<string, unknown> {
  const body: Record<string, unknown>[] = [
    { type: 'TextBlock', size: 'Medium', weight: 'Bolder', wrap: true, color: ADAPTIVE_COLOURS[colourKey(n)], text: n.title },
    // One block per line: Adaptive Card Markdown joins single newlines.
    ...n.text.split('\n').map((line) => ({ type: 'TextBlock', wrap: true, spacing: 'None', text: line || ' ' })),
  ];
  if (n.facts?.length) body.push({ type: 'FactSet', facts: n.facts.map((f) => ({ title: f.name, value: f.value })) });
  const card: Record<string, unknown> = { $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4', body };
  if (n.url) card.actions = [{ type: 'Action.OpenUrl', title: 'Open in Sensorpipe', url: n.url }];
  return { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }] };
}

export function payloadFor(kind: NotifierState['kind'], n: Notification, teamsFormat: 'adaptive' | 'messagecard' = 'adaptive'): Record<string, unknown> {
  if (kind === 'slack') return slackPayload(n);
  if (kind === 'teams') return teamsFormat === 'messagecard' ? teamsPayload(n) : teamsAdaptivePayload(n);
  return webhookPayload(n);
}
