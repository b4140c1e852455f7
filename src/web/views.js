// The dashboard's views. Each view renders into `root` and returns a cleanup function.
// Data comes from the dedicated API routes when the server has them, and otherwise from
// read-only queries through POST /v1/sql; each panel says which it used ("source: …").
import { api, optional, sql, lit, tsLit, toMs, MISSING, ApiError } from './api.js';
import { lineChart, zoomChart } from './charts.js';

// ---------- small DOM helpers ----------
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}
const fmtN = (n) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'));
const fmtTime = (ms) => (ms === null || ms === undefined || Number.isNaN(ms) ? '–' : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'));
function fmtAge(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '–';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}
const sourceTag = (text) => h('span', { class: 'source', 'data-source': text }, `source: ${text}`);
function errorBox(err) {
  return h('div', { class: 'error' }, err instanceof ApiError ? err.message : String(err?.message ?? err));
}
function panel(title, ...children) {
  return h('section', { class: 'panel' }, h('h2', {}, title), ...children);
}
/** A table of objects; `cols`: [key, label, format?]. */
function table(rows, cols, { onRow, rowAttrs } = {}) {
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, cols.map(([, label]) => h('th', {}, label)))),
    h(
      'tbody',
      {},
      rows.length === 0 ? h('tr', {}, h('td', { colspan: cols.length, class: 'muted' }, 'nothing yet')) : null,
      rows.map((r) =>
        h(
          'tr',
          { ...(rowAttrs?.(r) ?? {}), class: onRow ? 'clickable' : undefined, onclick: onRow ? () => onRow(r) : undefined },
          cols.map(([k, , fmt]) => h('td', { 'data-col': k }, fmt ? fmt(r[k], r) : cell(r[k]))),
        ),
      ),
    ),
  );
}
/** A table cell for any value: nested objects as compact JSON, cut short (the full text on hover). */
function cell(v) {
  if (v === null || v === undefined) return '–';
  if (typeof v !== 'object') return String(v);
  const text = JSON.stringify(v);
  return text.length <= 80 ? text : h('span', { class: 'ellipsis', title: text }, text);
}
/** Any JSON answer as tables: the first array found (or the object's fields). */
function anyTable(data) {
  const arr = Array.isArray(data) ? data : Object.values(data ?? {}).find(Array.isArray);
  if (Array.isArray(arr)) {
    const keys = [...new Set(arr.flatMap((r) => (r && typeof r === 'object' ? Object.keys(r) : ['value'])))].slice(0, 14);
    const rows = arr.map((r) => (r && typeof r === 'object' ? r : { value: r }));
    return table(rows, keys.map((k) => [k, k]));
  }
  return h('pre', {}, JSON.stringify(data, null, 2));
}
const today0 = () => {
  const d = new Date();
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
};

// ---------- overview ----------
export function overview(root) {
  const tiles = h('div', { class: 'tiles' });
  const liveEl = h('div', { class: 'chart', id: 'chart-live' });
  const hourlyEl = h('div', { class: 'chart', id: 'chart-hourly' });
  const reasonsEl = h('div');
  const err = h('div');
  root.append(
    err,
    tiles,
    panel('Ingest rate, live: last 10 minutes (items/s, from /v1/status every 3 s)', liveEl, sourceTag('/v1/status')),
    panel('Ingest per hour, last 48 h (accepted / quarantined / rejected)', hourlyEl, sourceTag('/v1/sql: ingest_counts')),
    panel('Counts by reason', reasonsEl, sourceTag('/v1/status')),
  );
  const live = { xs: [], acc: [], qua: [], rej: [], prev: null };
  let liveChart = null;
  let hourlyChart = null;
  let timer = null;
  let stopped = false;

  const tile = (label, value, cls = '', id = '') => h('div', { class: `tile ${cls}`, 'data-tile': id || label }, h('div', { class: 'tile-value' }, value), h('div', { class: 'tile-label' }, label));

  async function tick() {
    try {
      const s = await api('/v1/status');
      const a = s.accounting ?? {};
      const spool = s.spool ?? {};
      const w = s.writer ?? {};
      tiles.replaceChildren(
        tile('received', fmtN(a.received), '', 'received'),
        tile('accepted', fmtN(a.accepted), 'ok', 'accepted'),
        tile('quarantined', fmtN(a.quarantined), 'warn', 'quarantined'),
        tile('rejected', fmtN(a.rejected), 'bad', 'rejected'),
        tile('duplicates', fmtN(a.duplicates), '', 'duplicates'),
        tile('spool depth (records)', fmtN(spool.depthRecords ?? s.pending?.records), '', 'spool'),
        tile('writer lag (oldest unwritten)', s.oldestUnwrittenAgeMs == null ? 'none' : fmtAge(s.oldestUnwrittenAgeMs), s.oldestUnwrittenAgeMs > 10000 ? 'warn' : '', 'lag'),
        tile('writer last batch', w.lastBatchAt ? `${fmtAge(Date.now() - w.lastBatchAt)} ago` : '–', w.lastError ? 'bad' : '', 'writer'),
      );
      if (w.lastError) tiles.append(h('div', { class: 'error' }, `writer error: ${w.lastError}`));
      // live rate from the deltas of the durable counts
      const now = Date.now();
      const cur = { t: now, acc: a.accepted ?? 0, qua: a.quarantined ?? 0, rej: a.rejected ?? 0 };
      if (live.prev) {
        const dt = (now - live.prev.t) / 1000;
        live.xs.push(now / 1000);
        live.acc.push(Math.max(0, (cur.acc - live.prev.acc) / dt));
        live.qua.push(Math.max(0, (cur.qua - live.prev.qua) / dt));
        live.rej.push(Math.max(0, (cur.rej - live.prev.rej) / dt));
        for (const k of ['xs', 'acc', 'qua', 'rej']) if (live[k].length > 200) live[k].shift();
      }
      live.prev = cur;
      const data = [live.xs, live.acc, live.qua, live.rej];
      if (!liveChart) liveChart = lineChart(liveEl, { names: ['accepted/s', 'quarantined/s', 'rejected/s'], data, height: 180, xRange: () => [Date.now() / 1000 - 600, Date.now() / 1000 + 5] });
      else liveChart.update(data);
      const byReason = (a.byReason ?? []).slice().sort((x, y) => y.items - x.items);
      reasonsEl.replaceChildren(table(byReason, [['source', 'source'], ['outcome', 'outcome'], ['reason', 'reason', (v) => v || '–'], ['items', 'items', fmtN]]));
      err.replaceChildren();
    } catch (e) {
      err.replaceChildren(errorBox(e));
    }
  }

  async function hourly() {
    try {
      const since = Date.now() - 48 * 3600_000;
      const rows = await sql(
        `SELECT hour, outcome, sum(items) AS items FROM ingest_counts WHERE hour >= ${tsLit(since - (since % 3600_000))} AND outcome IN ('accepted','quarantined','rejected') GROUP BY hour, outcome ORDER BY hour`,
      );
      const hours = [...new Set(rows.map((r) => toMs(r.hour)))].sort((x, y) => x - y);
      const idx = new Map(hours.map((t, i) => [t, i]));
      const series = { accepted: hours.map(() => 0), quarantined: hours.map(() => 0), rejected: hours.map(() => 0) };
      for (const r of rows) series[r.outcome][idx.get(toMs(r.hour))] = Number(r.items);
      const data = [hours.map((t) => t / 1000), series.accepted, series.quarantined, series.rejected];
      if (!hourlyChart) hourlyChart = lineChart(hourlyEl, { names: ['accepted', 'quarantined', 'rejected'], data, height: 180, bars: true, xRange: () => [Date.now() / 1000 - 48 * 3600, Date.now() / 1000 + 3600] });
      else hourlyChart.update(data);
    } catch (e) {
      hourlyEl.replaceChildren(errorBox(e));
    }
  }

  const loop = async () => {
    await Promise.all([tick(), hourly()]);
    if (!stopped) timer = setTimeout(loop, 3000);
  };
  loop();
  return () => {
    stopped = true;
    clearTimeout(timer);
    liveChart?.destroy();
    hourlyChart?.destroy();
  };
}

// ---------- sensors ----------
/** Registry rows (sensor_id, location, type, expected_interval_s) from /v1/sensors or SQL. */
async function registry() {
  const r = await optional('/v1/sensors');
  if (r !== MISSING) {
    const list = Array.isArray(r) ? r : r.sensors ?? r.items ?? [];
    return {
      source: '/v1/sensors',
      rows: list.map((s) => ({
        sensor_id: s.sensor_id ?? s.sensorId ?? s.id,
        location: s.location ?? null,
        type: s.type ?? null,
        expected_interval_s: s.expected_interval_s ?? s.expectedIntervalS ?? s.expectedIntervalSeconds ?? null,
        metrics: Array.isArray(s.metrics) ? s.metrics.length : s.metrics ?? null,
      })),
    };
  }
  return { source: '/v1/sql: sensors', rows: await sql('SELECT sensor_id, location, type, expected_interval_s FROM sensors ORDER BY sensor_id') };
}

export function sensors(root) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'loading…'));
  const src = h('span');
  root.append(panel('Sensors', body, src));
  let timer = null;
  let stopped = false;
  async function load() {
    try {
      const t0 = today0();
      const [reg, stats] = await Promise.all([
        registry(),
        sql(
          `SELECT sensor_id, count(DISTINCT metric) AS metrics, max(received_at) AS last_seen, max(ts) AS last_ts, ` +
            `sum(CASE WHEN ts >= ${tsLit(t0)} THEN 1 ELSE 0 END) AS today FROM readings GROUP BY sensor_id`,
        ),
      ]);
      const byId = new Map(reg.rows.map((s) => [s.sensor_id, { ...s }]));
      for (const s of stats) byId.set(s.sensor_id, { ...(byId.get(s.sensor_id) ?? { sensor_id: s.sensor_id }), ...s });
      const now = Date.now();
      const rows = [...byId.values()].sort((a, b) => String(a.sensor_id).localeCompare(String(b.sensor_id))).map((s) => {
        const lastSeen = toMs(s.last_seen);
        const interval = Number(s.expected_interval_s) || null;
        const age = lastSeen === null ? null : now - lastSeen;
        const staleAfter = (interval ? interval * 3 : 300) * 1000;
        const health = age === null ? 'no data' : age <= staleAfter ? 'ok' : 'silent';
        let completeness = null;
        if (interval && Number(s.metrics)) {
          const expected = (Math.max(1, (now - t0) / 1000) / interval) * Number(s.metrics);
          completeness = Math.min(1, Number(s.today ?? 0) / expected);
        }
        return { ...s, health, age, completeness };
      });
      body.replaceChildren(
        table(
          rows,
          [
            ['sensor_id', 'sensor', (v) => h('a', { href: `#/sensor/${encodeURIComponent(v)}` }, v)],
            ['health', 'health', (v) => h('span', { class: `badge ${v === 'ok' ? 'ok' : v === 'silent' ? 'bad' : 'muted'}` }, v)],
            ['last_seen', 'last seen', (v, r) => (v ? `${fmtAge(r.age)} ago` : '–')],
            ['today', 'readings today (UTC)', fmtN],
            ['completeness', 'completeness today', (v) => (v === null ? '–' : `${(v * 100).toFixed(1)} %`)],
            ['metrics', 'metrics', fmtN],
            ['location', 'location'],
            ['type', 'type'],
            ['expected_interval_s', 'expected interval (s)'],
          ],
          { onRow: (r) => (location.hash = `#/sensor/${encodeURIComponent(r.sensor_id)}`), rowAttrs: (r) => ({ 'data-sensor': r.sensor_id }) },
        ),
      );
      src.replaceChildren(sourceTag(`${reg.source}; health: /v1/sql: readings`));
    } catch (e) {
      body.replaceChildren(errorBox(e));
    }
    if (!stopped) timer = setTimeout(load, 10_000);
  }
  load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

// ---------- one sensor ----------
const RES_MS = { '1m': 60_000, '1h': 3_600_000, '1d': 86_400_000 };
const TRUNC = { '1m': 'minute', '1h': 'hour', '1d': 'day' };
const ENOUGH_POINTS = 100;
const RAW_MAX = 2000;

/** The coarsest resolution that still gives enough points for the range (SQL fallback's `auto`). */
export function pickResolution(fromMs, toMs, rawCount) {
  if (rawCount <= RAW_MAX) return 'raw';
  for (const r of ['1d', '1h', '1m']) if ((toMs - fromMs) / RES_MS[r] >= ENOUGH_POINTS) return r;
  return '1m';
}

/** Normalises a /v1/readings answer: {resolution, points:[{t, v, min?, max?}]}, or null if not understood. */
function normalizeReadings(body) {
  if (!body) return null;
  const list = Array.isArray(body) ? body : body.points ?? body.readings ?? body.rows ?? body.data ?? body.series?.[0]?.points;
  if (!Array.isArray(list)) return null;
  const points = list
    .map((r) => (Array.isArray(r) ? { t: toMs(r[0]), v: r[1] } : { t: toMs(r.ts ?? r.bucket ?? r.time ?? r.t), v: r.value ?? r.avg ?? r.v, min: r.min ?? null, max: r.max ?? null }))
    .filter((p) => p.t !== null && !Number.isNaN(p.t))
    .map((p) => ({ ...p, v: p.v === null || p.v === undefined ? null : Number(p.v) }))
    .sort((a, b) => a.t - b.t);
  return { resolution: body.resolution ?? body.meta?.resolution ?? '?', points };
}

async function fetchSeries(sensor, metric, fromT, toT) {
  const qs = new URLSearchParams({ sensor, metric, from: new Date(fromT).toISOString(), to: new Date(toT).toISOString(), resolution: 'auto', format: 'json' });
  const r = await optional(`/v1/readings?${qs}`);
  if (r !== MISSING) {
    const n = normalizeReadings(r);
    if (n) return { ...n, source: '/v1/readings' };
  }
  const where = `sensor_id = ${lit(sensor)} AND metric = ${lit(metric)} AND ts >= ${tsLit(fromT)} AND ts < ${tsLit(toT)}`;
  const [{ n }] = await sql(`SELECT count(*) AS n FROM readings WHERE ${where}`);
  const resolution = pickResolution(fromT, toT, Number(n));
  const rows =
    resolution === 'raw'
      ? await sql(`SELECT ts, value FROM readings WHERE ${where} ORDER BY ts`)
      : await sql(
          `SELECT date_trunc('${TRUNC[resolution]}', ts) AS ts, avg(value) AS value, min(value) AS min, max(value) AS max FROM readings WHERE ${where} GROUP BY 1 ORDER BY 1`,
        );
  return { resolution, points: rows.map((r) => ({ t: toMs(r.ts), v: Number(r.value), min: r.min ?? null, max: r.max ?? null })), source: '/v1/sql (fallback: /v1/readings not available)' };
}

export function sensor(root, id) {
  const PRESETS = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 };
  const state = { preset: '24h', from: 0, to: 0, zoomed: false };
  const charts = [];
  const rangeLabel = h('span', { class: 'range', id: 'range' });
  const buttons = h(
    'div',
    { class: 'toolbar' },
    Object.keys(PRESETS).map((p) => h('button', { 'data-preset': p, onclick: () => setPreset(p) }, `last ${p}`)),
    h('button', { 'data-preset': 'all', onclick: () => setPreset('all') }, 'all data'),
    rangeLabel,
    h('span', { class: 'muted hint' }, 'drag on a chart to zoom in · double-click to reset'),
  );
  const chartsEl = h('div');
  const info = h('div');
  root.append(h('h1', {}, h('a', { href: '#/sensors' }, 'Sensors'), ' / ', id), info, buttons, chartsEl);
  let timer = null;
  let stopped = false;

  async function setPreset(p) {
    state.preset = p;
    state.zoomed = false;
    for (const b of buttons.querySelectorAll('button')) b.classList.toggle('active', b.dataset.preset === p);
    state.to = Date.now();
    if (p === 'all') {
      const [r] = await sql(`SELECT min(ts) AS lo, max(ts) AS hi FROM readings WHERE sensor_id = ${lit(id)}`);
      state.from = toMs(r.lo) ?? state.to - PRESETS['24h'];
      state.to = Math.max((toMs(r.hi) ?? state.to) + 1000, state.from + 60_000);
    } else state.from = state.to - PRESETS[p];
    await refresh();
  }
  async function zoom(fromMs, toMs) {
    state.from = fromMs;
    state.to = toMs;
    state.zoomed = true;
    await refresh();
  }
  async function refresh() {
    rangeLabel.textContent = `${fmtTime(state.from)} → ${fmtTime(state.to)}`;
    rangeLabel.dataset.key = `${state.from}-${state.to}`;
    await Promise.all(charts.map((c) => c.load()));
  }

  (async () => {
    try {
      const metrics = await sql(
        `SELECT r.metric, count(*) AS n, max(r.ts) AS last_ts, any_value(m.unit) AS unit FROM readings r LEFT JOIN sensor_metrics m ON m.sensor_id = r.sensor_id AND m.metric = r.metric WHERE r.sensor_id = ${lit(id)} GROUP BY r.metric ORDER BY r.metric`,
      );
      info.replaceChildren(h('p', { class: 'muted' }, metrics.length ? `${metrics.length} metric(s), ${fmtN(metrics.reduce((n, m) => n + Number(m.n), 0))} readings stored` : 'no readings stored for this sensor'));
      for (const m of metrics) {
        const head = h('div', { class: 'chart-head' });
        const el = h('div', { class: 'chart', 'data-metric': m.metric });
        chartsEl.append(panel(`${m.metric}${m.unit ? ` (${m.unit})` : ''}`, head, el));
        const c = zoomChart(el, { label: m.metric, unit: m.unit ?? '', onZoom: zoom, onReset: () => setPreset(state.preset === 'all' ? 'all' : state.preset) });
        const entry = {
          c,
          async load() {
            const from = state.from;
            const to = state.to;
            try {
              const s = await fetchSeries(id, m.metric, from, to);
              if (from !== state.from || to !== state.to) return; // a newer range is loading
              c.show(s.points, from, to);
              el.dataset.points = String(s.points.length);
              el.dataset.resolution = s.resolution;
              el.dataset.range = `${from}-${to}`; // which range the shown points are for
              head.replaceChildren(h('span', { class: 'badge' }, `resolution ${s.resolution}`), ` ${fmtN(s.points.length)} points `, sourceTag(s.source));
            } catch (e) {
              head.replaceChildren(errorBox(e));
            }
          },
        };
        charts.push(entry);
      }
      await setPreset('24h');
      const follow = async () => {
        if (stopped) return;
        if (!state.zoomed && state.preset !== 'all') {
          state.to = Date.now();
          state.from = state.to - PRESETS[state.preset];
          await refresh();
        }
        timer = setTimeout(follow, 5000);
      };
      timer = setTimeout(follow, 5000);
    } catch (e) {
      info.replaceChildren(errorBox(e));
    }
  })();
  return () => {
    stopped = true;
    clearTimeout(timer);
    for (const c of charts) c.c.destroy();
  };
}

// ---------- quarantine ----------
const Q_COLS = 'received_at, source, topic, device_id, sensor_id, metric, ts, reason, detail, payload, spool_offset, detected_by';

async function quarantineData(reason) {
  const qs = new URLSearchParams({ limit: '200' });
  if (reason) qs.set('reason', reason);
  const r = await optional(`/v1/quarantine?${qs}`);
  if (r !== MISSING) {
    const records = Array.isArray(r) ? r : r.records ?? r.items ?? r.rows ?? [];
    let counts = r.counts ?? r.byReason ?? r.countsByReason ?? null;
    if (counts && !Array.isArray(counts)) counts = Object.entries(counts).map(([reason, n]) => ({ reason, n }));
    if (Array.isArray(counts)) counts = counts.map((c) => ({ reason: c.reason, n: c.n ?? c.count ?? c.items }));
    if (!counts) counts = await sql('SELECT reason, count(*) AS n FROM quarantine GROUP BY reason ORDER BY n DESC');
    return { source: '/v1/quarantine', records, counts };
  }
  const where = reason ? `WHERE reason = ${lit(reason)}` : '';
  const [records, counts] = await Promise.all([
    sql(`SELECT ${Q_COLS} FROM quarantine ${where} ORDER BY received_at DESC, spool_offset DESC LIMIT 200`),
    sql('SELECT reason, count(*) AS n FROM quarantine GROUP BY reason ORDER BY n DESC'),
  ]);
  return { source: '/v1/sql: quarantine (fallback: /v1/quarantine not available)', records, counts };
}

/** The replay request for one record: by its id when the API gives one, else by spool offset. */
function replayBody(rec) {
  if (rec.id !== undefined) return { ids: [rec.id] };
  return { spoolOffsets: [Number(rec.spool_offset ?? rec.spoolOffset)] };
}

export function quarantine(root, params) {
  const reason = params.get('reason') ?? '';
  const filter = h('div', { class: 'toolbar', id: 'reasons' });
  const list = h('div', {}, h('p', { class: 'muted' }, 'loading…'));
  const detail = h('div', { id: 'qdetail' });
  const src = h('span');
  root.append(panel('Quarantine', filter, h('div', { class: 'split' }, list, detail), src));
  (async () => {
    try {
      const d = await quarantineData(reason);
      filter.replaceChildren(
        h('a', { class: `chip ${reason ? '' : 'active'}`, href: '#/quarantine' }, 'all'),
        ...d.counts.map((c) => h('a', { class: `chip ${c.reason === reason ? 'active' : ''}`, href: `#/quarantine?reason=${encodeURIComponent(c.reason)}`, 'data-reason': c.reason }, `${c.reason} (${fmtN(c.n)})`)),
      );
      list.replaceChildren(
        table(
          d.records,
          [
            ['received_at', 'received', (v) => h('span', { class: 'nowrap' }, fmtTime(toMs(v)))],
            ['reason', 'reason', (v) => h('span', { class: 'badge warn' }, v)],
            ['sensor_id', 'sensor'],
            ['metric', 'metric'],
            ['source', 'source'],
            ['detail', 'detail', (v) => h('span', { class: 'ellipsis' }, v ?? '')],
          ],
          { onRow: (r) => open(r), rowAttrs: (r) => ({ 'data-record': String(r.id ?? r.spool_offset ?? r.spoolOffset ?? '') }) },
        ),
      );
      src.replaceChildren(sourceTag(d.source));
    } catch (e) {
      list.replaceChildren(errorBox(e));
    }
  })();

  function open(rec) {
    let payload = rec.payload ?? '';
    try {
      payload = JSON.stringify(JSON.parse(payload), null, 2);
    } catch {
      /* not JSON: as stored */
    }
    const outcome = h('div', { id: 'replay-outcome' });
    const replayBtn = h('button', { id: 'replay', class: 'primary' }, 'Replay this record');
    replayBtn.addEventListener('click', async () => {
      replayBtn.disabled = true;
      outcome.replaceChildren(h('p', { class: 'muted' }, 'replaying…'));
      try {
        const r = await optional('/v1/quarantine/replay', { method: 'POST', body: replayBody(rec) });
        if (r === MISSING) outcome.replaceChildren(h('p', { class: 'muted', 'data-outcome': 'not-available' }, 'Replay is not available on this server (POST /v1/quarantine/replay does not exist yet).'));
        else
          outcome.replaceChildren(
            h('h3', { 'data-outcome': 'done' }, 'Outcome'),
            typeof r?.accepted === 'number' ? h('p', { class: 'summary' }, `replayed ${fmtN(r.replayed ?? 1)}: ${fmtN(r.accepted)} accepted, ${fmtN(r.quarantined ?? 0)} quarantined again`) : null,
            anyTable(r), h('details', {}, h('summary', {}, 'raw answer'), h('pre', {}, JSON.stringify(r, null, 2))));
      } catch (e) {
        outcome.replaceChildren(errorBox(e));
      }
      replayBtn.disabled = false;
    });
    const fields = ['id', 'reason', 'detail', 'received_at', 'source', 'topic', 'device_id', 'sensor_id', 'metric', 'ts', 'spool_offset', 'detected_by', 'replayed_at'];
    detail.replaceChildren(
      h(
        'div',
        { class: 'record' },
        h('h3', {}, 'Record'),
        h('dl', {}, fields.filter((f) => rec[f] !== undefined).map((f) => [h('dt', {}, f), h('dd', { 'data-field': f }, rec[f] === null ? '–' : String(rec[f]))])),
        h('h3', {}, 'Payload'),
        h('pre', { class: 'payload', id: 'payload' }, payload),
        replayBtn,
        outcome,
      ),
    );
  }
  return () => {};
}

// ---------- quality, jobs ----------
function optionalView(root, title, path) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'loading…'));
  root.append(panel(title, body, sourceTag(path)));
  let timer = null;
  let stopped = false;
  async function load() {
    try {
      const r = await optional(path);
      if (r === MISSING) {
        body.replaceChildren(h('p', { class: 'muted', 'data-state': 'not-available' }, `not available: this server has no ${path} yet.`));
        return;
      }
      body.replaceChildren(anyTable(r));
    } catch (e) {
      body.replaceChildren(errorBox(e));
    }
    if (!stopped) timer = setTimeout(load, 15_000);
  }
  load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
export const quality = (root) => optionalView(root, 'Quality results', '/v1/quality');
export const jobs = (root) => optionalView(root, 'Jobs', '/v1/jobs');
