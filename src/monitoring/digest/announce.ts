/** The digest announced through the notifiers (src/core/notify.ts): "digest for week W ready", the headline, where to open it. */
import type { Notification, NotifierSet } from '../../core/notify.js';
import type { EpochMs } from '../../core/types.js';
import type { Digest } from './digest.js';
import type { DigestFiles } from './generate.js';
import { headlineItems, headlineSentence } from './headline.js';

export function digestNotification(d: Digest, files: DigestFiles, at: EpochMs, reportUrl: string | null): Notification {
  const url = reportUrl ? `${reportUrl.replace(/\/$/, '')}/${d.week}/digest.html` : undefined;
  const top = d.topProblems.slice(0, 3).map((p) => `${p.rank}. ${p.severity}: ${p.title}`);
  const where = url ? `[Open the digest](${url})` : `Open ${files.html}`;
  return {
    kind: 'digest',
    title: `digest for week ${d.week} ready: ${headlineSentence(d).replace(/^week \S+: /, '')}`,
    text: [...(top.length ? ['Top problems:', ...top] : ['No problems this week.']), where].join('\n'),
    severity: d.headline.sensorsCritical > 0 ? 'critical' : d.headline.sensorsWithProblems > 0 ? 'warning' : 'info',
    facts: headlineItems(d).map((i) => ({ name: i.label, value: i.change === null ? i.value : `${i.value} (${i.change} vs ${d.previousWeek})` })),
    ...(url ? { url } : {}),
    key: `digest:${d.week}`,
    at,
    data: { week: d.week, files: { html: files.html, md: files.md, json: files.json }, headline: d.headline, topProblems: d.topProblems.slice(0, 3) },
  };
}

/**
 * Sends the announcement to every notifier. Never rejects (a failed delivery is a value, see
 * NotifierSet.broadcast); returns one line per notifier for the job's detail.
 */
export async function announceDigest(notifiers: NotifierSet, n: Notification): Promise<{ name: string; ok: boolean; error?: string }[]> {
  const results = await notifiers.broadcast(n);
  return results.map((r) => ({ name: r.name, ok: r.result.ok, ...(r.result.error ? { error: r.result.error } : {}) }));
}
