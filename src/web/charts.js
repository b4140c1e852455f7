// uPlot charts: a live multi-series line chart and a zoomable time series.
import uPlot from './vendor/uplot.js';

const COLORS = ['#2563eb', '#d97706', '#dc2626', '#059669', '#7c3aed', '#0891b2'];

function width(el) {
  return Math.max(300, el.clientWidth || el.parentElement?.clientWidth || 600);
}

/** Keeps a chart as wide as its container. */
function follow(el, u) {
  const ro = new ResizeObserver(() => u.setSize({ width: width(el), height: u.height }));
  ro.observe(el);
  return () => ro.disconnect();
}

/**
 * A line chart over time. `names`: the series labels; `data`: [xs (epoch s), ...ys].
 * Returns {u, update(data), destroy()}.
 */
export function lineChart(el, { names, data, height = 200, yLabel = '', bars = false, xRange = null }) {
  const series = [{}, ...names.map((label, i) => ({
    label,
    stroke: COLORS[i % COLORS.length],
    fill: bars ? COLORS[i % COLORS.length] + '55' : undefined,
    width: 2,
    paths: bars ? uPlot.paths.bars({ size: [0.6, 40] }) : undefined,
    points: { show: false },
  }))];
  const u = new uPlot(
    {
      width: width(el),
      height,
      series,
      axes: [{}, { label: yLabel, size: 60 }],
      // xRange(): a fixed window [min, max] in epoch s (a live chart with one point would otherwise span years)
      scales: { x: { time: true, range: xRange ? () => xRange() : undefined }, y: { range: (_u, lo, hi) => [Math.min(0, lo ?? 0), Math.max(1, (hi ?? 1) * 1.1)] } },
      legend: { live: true },
    },
    data,
    el,
  );
  const unfollow = follow(el, u);
  return {
    u,
    update: (d) => u.setData(d),
    destroy: () => {
      unfollow();
      u.destroy();
    },
  };
}

/**
 * A zoomable time series: drag to zoom in (the caller refetches for the new range and calls
 * show()), double-click to go back to the caller's full range. Series: value, and min/max as thin
 * lines when the data is aggregated.
 */
export function zoomChart(el, { label, unit = '', height = 240, onZoom, onReset }) {
  const u = new uPlot(
    {
      width: width(el),
      height,
      series: [
        {},
        { label, stroke: COLORS[0], width: 1.5, points: { show: true, size: 3 }, value: (_u, v) => (v == null ? '–' : `${+v.toFixed(3)} ${unit}`) },
        { label: 'min', stroke: '#93c5fd', width: 1, dash: [4, 4], points: { show: false } },
        { label: 'max', stroke: '#93c5fd', width: 1, dash: [4, 4], points: { show: false } },
      ],
      axes: [{}, { label: unit, size: 60 }],
      scales: { x: { time: true } },
      cursor: {
        drag: { x: true, y: false, setScale: false },
        bind: {
          dblclick: () => () => {
            onReset?.();
            return null;
          },
        },
      },
      hooks: {
        setSelect: [
          (uu) => {
            const { left, width: w } = uu.select;
            if (w < 5) return;
            const from = uu.posToVal(left, 'x');
            const to = uu.posToVal(left + w, 'x');
            uu.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
            onZoom?.(Math.round(from * 1000), Math.round(to * 1000));
          },
        ],
      },
    },
    [[], [], [], []],
    el,
  );
  const unfollow = follow(el, u);
  return {
    u,
    /** points: [{t (ms), v, min?, max?}]; the x axis shows exactly [fromMs, toMs]. */
    show(points, fromMs, toMs) {
      const xs = points.map((p) => p.t / 1000);
      const hasBand = points.some((p) => p.min != null && p.max != null && p.min !== p.max);
      u.setData(
        [xs, points.map((p) => p.v), points.map((p) => (hasBand ? p.min ?? null : null)), points.map((p) => (hasBand ? p.max ?? null : null))],
        false,
      );
      const ys = points.flatMap((p) => [p.v, p.min, p.max]).filter((v) => typeof v === 'number' && Number.isFinite(v));
      let lo = ys.length ? Math.min(...ys) : 0;
      let hi = ys.length ? Math.max(...ys) : 1;
      const pad = hi === lo ? Math.abs(hi) * 0.1 || 1 : (hi - lo) * 0.08;
      u.batch(() => {
        u.setScale('y', { min: lo - pad, max: hi + pad });
        u.setScale('x', { min: fromMs / 1000, max: toMs / 1000 });
      });
    },
    destroy: () => {
      unfollow();
      u.destroy();
    },
  };
}
