import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  IDR_SCALE,
  NoiseFloor,
  MAD_SCALE,
  baselineSigma,
  quantile,
  groupDeviations,
  hampel,
  longestNaturalRun,
  mad,
  median,
  noiseSigma,
  restingValues,
  robustSigma,
  runs,
  severityOf,
  shiftZ,
  stuckFindings,
  stuckHistory,
  stuckThreshold,
} from '../../src/quality/stats.js';
import { rateExceedances } from '../../src/quality/checks/rate.js';
import { gauss, seededRandom } from '../helpers/quality-data.js';

describe('median and MAD', () => {
  test('median of odd, even, empty and non-finite input; input untouched', () => {
    const xs = [5, 1, 3];
    assert.equal(median(xs), 3);
    assert.deepEqual(xs, [5, 1, 3]);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
    assert.equal(median([NaN, 2, Infinity, 4]), 3);
  });

  test('MAD ignores a gross outlier; 1.4826 x MAD estimates sigma of normal data', () => {
    assert.equal(mad([1, 2, 3, 4, 1000]), 1);
    assert.equal(mad([2, 2, 2]), 0);
    const rnd = seededRandom(7);
    const normal = Array.from({ length: 20000 }, () => gauss(rnd) * 2.5 + 10);
    assert.ok(Math.abs(robustSigma(normal) - 2.5) < 0.08, String(robustSigma(normal)));
    assert.ok(Math.abs(MAD_SCALE - 1 / 0.6744897501960817) < 1e-12);
  });

  test('noiseSigma: white noise sigma from the differences; repeats (sample-and-hold) ignored; 0 when constant', () => {
    const rnd = seededRandom(3);
    const x = Array.from({ length: 20000 }, (_, i) => Math.sin(i / 500) * 5 + gauss(rnd) * 0.3);
    assert.ok(Math.abs(noiseSigma(x) - 0.3) < 0.02, String(noiseSigma(x)));
    // The same series held for 4 readings at a time has the same step sizes, now between repeats.
    const held = x.flatMap((v) => [v, v, v, v]);
    assert.ok(Math.abs(noiseSigma(held) - noiseSigma(x)) < 0.02);
    assert.equal(noiseSigma([3, 3, 3]), 0);
    assert.equal(noiseSigma([]), 0);
  });
});

describe('Hampel filter', () => {
  const opts = { halfWindow: 3, k: 3, criticalK: 6, floor: 0 };

  test('flags an isolated spike with its median, scale and severity; the neighbours are not flagged', () => {
    const x = [10, 11, 10, 12, 11, 10, 50, 11, 10, 12, 11, 10];
    const f = hampel(x, { ...opts, floor: 0.5 });
    assert.equal(f.length, 1);
    assert.equal(f[0].index, 6);
    assert.equal(f[0].median, 11);
    assert.equal(f[0].scale, MAD_SCALE * 1);
    assert.equal(f[0].severity, 'critical');
    assert.ok(Math.abs(f[0].z - 39 / MAD_SCALE) < 1e-9);
  });

  test('a step is not a spike (the median follows it), a two-reading plateau is not one either', () => {
    const step = [...Array(10).fill(20), ...Array(10).fill(30)].map((v, i) => v + (i % 2) * 0.1);
    assert.deepEqual(hampel(step, { ...opts, floor: 0.05 }), []);
  });

  test('warning between k and criticalK; the floor bounds the scale on a flat stretch', () => {
    const flat = Array(15).fill(5);
    flat[7] = 5.4; // MAD of the window is 0: only the floor gives a scale
    assert.equal(hampel(flat, opts)[0].z, Infinity, 'no floor: any change is infinite');
    const f = hampel(flat, { ...opts, floor: 0.1 });
    assert.equal(f.length, 1);
    assert.equal(f[0].severity, 'warning');
    assert.ok(Math.abs(f[0].z - 4) < 1e-9);
    assert.deepEqual(hampel(flat, { ...opts, floor: 0.2 }), [], 'z = 2 < k');
  });

  test('edges use a shifted window; from/to restrict the tested range; too short a series gives nothing', () => {
    const x = [100, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, -100];
    const all = hampel(x, { ...opts, floor: 0.5 });
    assert.deepEqual(all.map((f) => f.index), [0, 13]);
    assert.deepEqual(hampel(x, { ...opts, floor: 0.5, from: 1, to: 13 }), []);
    assert.deepEqual(hampel([1, 2, 100], opts), []);
  });

  test('NoiseFloor: the noise level without the tested reading equals a brute-force recomputation', () => {
    const rnd = seededRandom(21);
    const x = Array.from({ length: 300 }, (_, i) => Math.round((Math.sin(i / 20) * 3 + gauss(rnd) * 0.2) * 10) / 10);
    x[100] = 50;
    const nf = new NoiseFloor(x, 7);
    for (const i of [0, 1, 50, 99, 100, 101, 299]) {
      const d: number[] = [];
      for (let j = 1; j < x.length; j++) if (j !== i && j !== i + 1) d.push(Math.abs(x[j] - x[j - 1]));
      const nz = d.filter((v) => v > 0);
      const brute = (MAD_SCALE * median(nz)) / Math.SQRT2;
      assert.ok(Math.abs(nf.at(i) - brute) < 1e-12, `i=${i}: ${nf.at(i)} vs ${brute}`);
    }
  });

  test('a spike on a constant stretch is found although its own differences are the only changes', () => {
    const night = Array(40).fill(0);
    night[20] = 700;
    assert.deepEqual(hampel(night, { ...opts, floor: noiseSigma(night) }), [], 'with the plain noise level the spike hides behind itself');
    const nf = new NoiseFloor(night, 7);
    assert.equal(nf.at(20), 0);
    const f = hampel(night, { ...opts, floor: (i) => nf.at(i) });
    assert.deepEqual(f.map((e) => [e.index, e.severity, e.z]), [[20, 'critical', Infinity]]);
    // Sample-and-hold steps with enough changes keep their floor: a one-step blip is not a spike.
    const held = Array.from({ length: 120 }, (_, i) => 20 + 0.05 * Math.floor(i / 6));
    held[60] += 0.05;
    const hf = new NoiseFloor(held, 7);
    assert.ok(hf.at(60) > 0.04);
    assert.deepEqual(hampel(held, { ...opts, floor: (i) => hf.at(i) }), []);
  });

  test('false alarm rate on Gaussian noise stays near the two-sided 3-sigma tail (0.27 %) with the noise floor', () => {
    const rnd = seededRandom(11);
    const x = Array.from({ length: 50000 }, () => gauss(rnd));
    const f = hampel(x, { ...opts, floor: noiseSigma(x) });
    const rate = f.length / x.length;
    assert.ok(rate < 0.01, `rate ${rate}`);
    assert.equal(f.filter((e) => e.severity === 'critical').length, 0);
  });
});

describe('stuck detection', () => {
  test('runs: consecutive readings within tolerance of the previous one', () => {
    assert.deepEqual(runs([1, 1, 2, 2, 2, 3]), [
      { start: 0, length: 2, value: 1 },
      { start: 2, length: 3, value: 2 },
      { start: 5, length: 1, value: 3 },
    ]);
    assert.deepEqual(runs([1, 1.05, 1.1, 2], 0.06).map((r) => r.length), [3, 1]);
    assert.deepEqual(runs([]), []);
  });

  test('resting values: held for at least the share', () => {
    const light = [...Array(60).fill(0), 400, 410, 420, 430, ...Array(36).fill(415)];
    assert.deepEqual(restingValues(light, 0.2), [0, 415]);
    assert.deepEqual(restingValues(light, 0.5), [0]);
    assert.deepEqual(restingValues([], 0.2), []);
  });

  test('longest natural run skips resting values and the last run; threshold = max(minRun, factor x longest)', () => {
    const h = [0, 0, 0, 0, 0, 0, 1, 2, 2, 2, 3, 4, 4, 5, 5, 5, 5, 5, 5, 5];
    assert.equal(longestNaturalRun(h, [0]), 3);
    assert.equal(longestNaturalRun(h, []), 6);
    assert.equal(stuckThreshold(3, 5, 2), 6);
    assert.equal(stuckThreshold(1, 5, 2), 5);
    assert.equal(stuckThreshold(0, 5, 2), 5);
    assert.equal(stuckThreshold(7, 5, 1.5), 11);
  });

  test('stuckHistory excludes the last run from resting shares and natural runs', () => {
    const h = [1, 2, 2, 3, 4, 4, 4, 5, 6, 7, 8, 9, 10, 11, 12, ...Array(30).fill(20)];
    const s = stuckHistory(h, 0.25);
    assert.deepEqual(s.resting, [], 'the 30 twenties are the last run: not resting');
    assert.equal(s.longestNatural, 3);
    assert.deepEqual(s.lastRun, { value: 20, length: 30 });
    assert.deepEqual(stuckHistory(h, 0.2).resting, [4], '3 of the 15 earlier readings');
    assert.deepEqual(stuckHistory([], 0.2), { longestNatural: 0, resting: [], lastRun: null });
  });

  test('stuckFindings: a run continuing from the history, a run inside the window, resting runs ignored', () => {
    const history = { longestNatural: 3, resting: [0], lastRun: { value: 7, length: 4 } };
    const o = { minRun: 5, factor: 2, tolerance: 0 };
    // threshold 6: 4 carried + 3 in window = 7 -> warning; then a natural 2; then 12 x 8 -> critical; then 20 x 0 resting.
    const w = [7, 7, 7, 1, 2, 2, ...Array(12).fill(8), ...Array(20).fill(0)];
    const f = stuckFindings(w, history, o);
    assert.deepEqual(
      f.map((x) => [x.start, x.inWindow, x.carried, x.length, x.value, x.threshold, x.severity]),
      [
        [0, 3, 4, 7, 7, 6, 'warning'],
        [6, 12, 0, 12, 8, 6, 'critical'],
      ],
    );
    assert.deepEqual(stuckFindings([7], history, o), [], '4 + 1 < 6');
    assert.equal(stuckFindings([7, 7], history, o)[0].length, 6, '4 + 2 reaches 6');
    assert.deepEqual(stuckFindings([6, 6, 6, 6, 6], { ...history, lastRun: { value: 6.5, length: 10 } }, o), [], 'different value: nothing carried');
  });
});

describe('drift and severities', () => {
  test('baselineSigma: the larger of 1.4826 x MAD and the inter-decile range / 2.563; shiftZ divides by it', () => {
    const rnd = seededRandom(9);
    const normal = Array.from({ length: 20000 }, () => gauss(rnd) * 2);
    const byMad = MAD_SCALE * mad(normal);
    const byIdr = (quantile(normal, 0.9) - quantile(normal, 0.1)) / IDR_SCALE;
    assert.ok(Math.abs(byMad - 2) < 0.06 && Math.abs(byIdr - 2) < 0.06, `${byMad} ${byIdr}`);
    // Zero-inflated, like CO2 in an often empty room: the mode is narrow, the tail is not.
    const co2 = [...Array(70).fill(0).map((_, i) => 450 + (i % 5)), ...Array(30).fill(0).map((_, i) => 600 + 10 * i)];
    const s = baselineSigma(mad(co2), quantile(co2, 0.1), quantile(co2, 0.9));
    assert.ok(MAD_SCALE * mad(co2) < 10, 'MAD sees only the mode');
    assert.ok(s > 100, `sigma ${s}`);
    assert.equal(baselineSigma(0, 5, 5), 0);
    assert.equal(shiftZ(14, 10, 2), 2);
    assert.equal(shiftZ(6, 10, 2), -2);
    assert.ok(Number.isNaN(shiftZ(11, 10, 0)));
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(quantile([1, 2, 3, 4, 5], 0.9), 4.6);
    assert.ok(Number.isNaN(quantile([], 0.5)));
  });

  test('severityOf', () => {
    assert.equal(severityOf(2.9, 3, 6), null);
    assert.equal(severityOf(3, 3, 6), null);
    assert.equal(severityOf(3.1, 3, 6), 'warning');
    assert.equal(severityOf(6.1, 3, 6), 'critical');
    assert.equal(severityOf(NaN, 3, 6), null);
  });
});

describe('group deviations', () => {
  test('the departing member has the large deviation; the pooled scale is robust to it', () => {
    const rnd = seededRandom(5);
    const matrix = Array.from({ length: 60 }, (_, b) => {
      const truth = 20 + Math.sin(b / 10);
      return [0, 1, 2, 3, 4].map((j) => truth + gauss(rnd) * 0.05 + (j === 3 ? 1 : 0));
    });
    const r = groupDeviations(matrix, 5, 3);
    assert.equal(r.buckets, 60);
    assert.ok(r.scale < 0.1, `scale ${r.scale}`);
    const devs = r.members.map((m) => m.deviation);
    assert.ok(devs[3] > 0.9 && devs[3] < 1.1, String(devs[3]));
    for (const j of [0, 1, 2, 4]) assert.ok(Math.abs(devs[j]) < 3 * r.scale, `member ${j}: ${devs[j]}`);
  });

  test('buckets with fewer than minMembers values are skipped; the floor bounds the scale', () => {
    const matrix = [
      [1, 1, 1],
      [1, undefined, 1],
      [2, 2, 2],
    ];
    const r = groupDeviations(matrix, 3, 3, 0.25);
    assert.equal(r.buckets, 2);
    assert.equal(r.scale, 0.25);
    assert.deepEqual(r.members.map((m) => m.buckets), [2, 2, 2]);
    assert.equal(r.groupMedian, 1.5);
  });
});

describe('rate of change', () => {
  test('exceedances between consecutive readings, per second, from the given index; dt 0 skipped', () => {
    const ts = [0, 60_000, 120_000, 180_000, 180_000, 240_000];
    const v = [20, 20.5, 30, 20, 25, 20.1];
    // rates: 0.0083, 0.158, 0.167, (dt 0), 0.0817 per s
    assert.deepEqual(rateExceedances(ts, v, 0.1, 2).map((x) => [x.index, x.severity]), [
      [2, 'warning'],
      [3, 'warning'],
    ]);
    assert.deepEqual(rateExceedances(ts, v, 0.1, 2, 3).map((x) => x.index), [3]);
    assert.deepEqual(rateExceedances(ts, v, 0.05, 2).map((x) => [x.index, x.severity]), [
      [2, 'critical'],
      [3, 'critical'],
      [5, 'warning'],
    ]);
    assert.ok(Math.abs(rateExceedances(ts, v, 0.1, 2)[0].rate - 9.5 / 60) < 1e-12);
  });
});
