// The digest's pure parts: ISO weeks (checked day by day against luxon, an independent
// implementation), the ranking of problems, and that the HTML escapes what it shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DateTime } from 'luxon';
import { buildDigest } from '../../src/monitoring/digest/digest.js';
import { isoWeekOf, lastCompleteWeek, parseIsoWeek, type IsoWeek } from '../../src/monitoring/digest/iso-week.js';
import type { DigestThresholds } from '../../src/monitoring/digest/problems.js';
import { renderHtml } from '../../src/monitoring/digest/render-html.js';
import { renderMarkdown } from '../../src/monitoring/digest/render-markdown.js';
import type { SensorWeek, WeekStats } from '../../src/monitoring/digest/week-stats.js';

const DAY = 86_400_000;

test('ISO weeks agree with luxon for every day from 1999 to 2041', () => {
  for (let t = Date.UTC(1999, 0, 1); t < Date.UTC(2041, 0, 1); t += DAY) {
    const w = isoWeekOf(t + 13 * 3_600_000);
    const l = DateTime.fromMillis(t, { zone: 'utc' });
    const name = `${l.weekYear}-W${String(l.weekNumber).padStart(2, '0')}`;
    if (w.name !== name) assert.fail(`${l.toISODate()}: ${w.name}, luxon says ${name}`);
    assert.equal(w.start, l.startOf('week').toMillis());
    assert.deepEqual(parseIsoWeek(name), w);
  }
});

test('parseIsoWeek: accepted spellings, week 53 only where it exists, nonsense refused', () => {
  assert.equal(parseIsoWeek('2026-W49')?.start, Date.UTC(2026, 10, 30));
  assert.equal(parseIsoWeek('2026w49')?.name, '2026-W49');
  assert.equal(parseIsoWeek('2020-W53')?.start, Date.UTC(2020, 11, 28));
  for (const bad of ['2021-W53', '2026-W00', '2026-W54', '2026-49', 'W49', '2026-W4x', '']) assert.equal(parseIsoWeek(bad), null, bad);
  assert.equal(lastCompleteWeek(Date.UTC(2026, 11, 3, 12)).name, '2026-W48');
  assert.equal(lastCompleteWeek(Date.UTC(2026, 10, 30, 0, 0, 1)).name, '2026-W48', 'on Monday the week just ended counts');
});

const T: DigestThresholds = { warnBelow: 0.9, criticalBelow: 0.5, infoAbove: 1.5, silentIntervals: 5, quarantineWarn: 0.01, quarantineCritical: 0.1 };

function sensor(id: string, over: Partial<SensorWeek>): SensorWeek {
  return {
    sensorId: id,
    location: null,
    intervalS: 60,
    readings: 10_080,
    samples: 10_080,
    expected: 10_080,
    completeness: 1,
    lastSeen: null,
    silentForS: 30,
    longestGap: null,
    quarantineByReason: {},
    quarantined: 0,
    quarantineRate: 0,
    findings: { critical: 0, warning: 0, info: 0 },
    findingsByCheck: {},
    examples: [],
    outliers: 0,
    hourly: new Array<number>(168).fill(60),
    ...over,
  };
}

function week(w: IsoWeek, sensors: SensorWeek[]): WeekStats {
  const quarantined = sensors.reduce((n, s) => n + s.quarantined, 0);
  const accepted = sensors.reduce((n, s) => n + s.readings, 0);
  return { week: w, until: w.end, sensors, unattributedQuarantine: {}, accounting: { received: accepted + quarantined, accepted, quarantined, rejected: 0, duplicates: 0 } };
}

test('ranking: a silent sensor first, then by severity and size; info is not a problem', () => {
  const w = parseIsoWeek('2026-W48')!;
  const cur = week(w, [
    sensor('ok-1', {}),
    sensor('gappy', { samples: 4_032, completeness: 0.4 }),
    sensor('dirty', { quarantined: 2_520, quarantineRate: 0.2, quarantineByReason: { out_of_range: 2_000, non_finite: 520 } }),
    sensor('dead', { samples: 7_000, completeness: 7_000 / 10_080, lastSeen: w.end - 2 * DAY, silentForS: 2 * 86_400 }),
    sensor('chatty', { samples: 20_160, completeness: 2 }),
    sensor('spiky', { findingsByCheck: { spike: { critical: 3, warning: 10, info: 0 } }, findings: { critical: 3, warning: 10, info: 0 }, outliers: 13 }),
  ]);
  const d = buildDigest(cur, week(parseIsoWeek('2026-W47')!, []), T, w.end);
  assert.deepEqual(
    d.topProblems.map((p) => [p.sensorId, p.kind, p.severity]),
    [
      ['dead', 'silent', 'critical'],
      ['gappy', 'incomplete', 'critical'],
      ['dirty', 'quarantine', 'critical'],
      ['chatty', 'interval_mismatch', 'info'],
      ['spiky', 'quality', 'info'],
    ],
  );
  assert.match(d.topProblems[2].action, /min\/max/, 'the action follows the main reason (out_of_range)');
  assert.deepEqual([d.headline.sensorsOk, d.headline.sensorsWithProblems, d.headline.sensorsCritical], [3, 3, 3]);
  assert.equal(d.headline.previous, null, 'an empty previous week is no comparison');
  assert.equal(d.headline.change.completeness, null);
});

test('the HTML and Markdown escape what they show', () => {
  const w = parseIsoWeek('2026-W48')!;
  const evil = '<script>alert(1)</script> | & "x"';
  const s = sensor('room-1', {
    location: '<b>roof</b>',
    findingsByCheck: { stuck: { critical: 1, warning: 0, info: 0 } },
    findings: { critical: 1, warning: 0, info: 0 },
    examples: [{ check: 'stuck', severity: 'critical', metric: 'temperature', detail: evil, windowStart: new Date(w.start).toISOString() }],
  });
  const d = buildDigest(week(w, [s]), week(parseIsoWeek('2026-W47')!, []), T, w.end);
  const html = renderHtml(d);
  assert.ok(!html.includes('<script>') && !html.includes('<b>roof'), 'no markup from the data');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.equal((html.match(/<svg class="sparkline"/g) ?? []).length, 1);
  const md = renderMarkdown(d);
  assert.ok(md.includes('1. **critical**: room-1: 1 stuck finding (1 critical), e.g. <script>'), 'problem lines keep the text (Markdown renderers escape HTML themselves)');
  assert.match(md, /^\| room-1 \| critical \| 100\.0 % \|/m);
});

test('a week without sensors or data still renders: nothing to report, no comparison', () => {
  const w = parseIsoWeek('2026-W48')!;
  const d = buildDigest(week(w, []), week(parseIsoWeek('2026-W47')!, []), T, w.end + 3_600_000);
  assert.deepEqual([d.headline.sensors, d.headline.completeness, d.headline.quarantineRate, d.problemCount], [0, null, null, 0]);
  const html = renderHtml(d);
  assert.match(html, /No problems this week/);
  assert.match(html, /Nothing was quarantined this week/);
  assert.match(renderMarkdown(d), /\*\*Completeness: n\/a\*\* \(no previous week\)/);
});
