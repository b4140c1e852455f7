/** A group notice as a Notification for people (core/notify.ts). */
import type { Notification } from '../core/notify.js';
import type { EpochMs } from '../core/types.js';
import type { GroupNotice } from './types.js';

const RULE_TITLES: Record<GroupNotice['rule'], string> = {
  error_rate: 'Error rate',
  pipeline_lag: 'Pipeline lag',
  sensor_silent: 'Silent sensors',
  completeness: 'Low completeness',
  job_failed: 'Failed job',
  query_latency: 'Slow queries',
};

export function renderNotice(notice: GroupNotice, now: EpochMs, dashboardUrl: string | null): Notification {
  const n = notice.alerts.length;
  const what = Object.entries(notice.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const head = `${RULE_TITLES[notice.rule]}${what ? ` (${what})` : ''}`;
  const title =
    notice.status === 'resolved'
      ? `RESOLVED: ${head}`
      : `${notice.severity === 'critical' ? 'CRITICAL' : 'FIRING'}: ${n === 1 ? notice.alerts[0].summary : `${head}: ${n} alerts`}`;
  const lines = notice.alerts.slice(0, 20).map((a) => `• ${a.summary}`);
  if (n > 20) lines.push(`… and ${n - 20} more`);
  if (notice.status === 'resolved') lines.unshift(`No longer firing${n ? ':' : '.'}`);
  if (notice.reason === 'repeat') lines.push('Still firing (repeat notification).');
  const url = dashboardUrl ? new URL('#/alerts', dashboardUrl).toString() : undefined;
  if (url) lines.push(`[Open the alerts view](${url})`);
  const facts = [
    { name: 'rule', value: notice.rule },
    { name: 'status', value: notice.status },
    { name: 'severity', value: notice.severity },
    { name: 'alerts', value: String(n) },
  ];
  const since = notice.alerts.map((a) => a.firedAt ?? a.activeSince).filter((x): x is number => x !== null);
  if (notice.status === 'firing' && since.length) facts.push({ name: 'firing since', value: new Date(Math.min(...since)).toISOString() });
  return {
    kind: 'alert',
    title,
    text: lines.join('\n'),
    severity: notice.severity,
    status: notice.status,
    facts,
    url,
    key: notice.key,
    at: now,
    data: {
      group: notice.key,
      reason: notice.reason,
      labels: notice.labels,
      alerts: notice.alerts.map((a) => ({
        id: a.id,
        rule: a.rule,
        labels: a.labels,
        state: a.state,
        value: a.value,
        threshold: a.threshold,
        summary: a.summary,
        activeSince: new Date(a.activeSince).toISOString(),
        firedAt: a.firedAt === null ? null : new Date(a.firedAt).toISOString(),
        resolvedAt: a.resolvedAt === null ? null : new Date(a.resolvedAt).toISOString(),
      })),
    },
  };
}
