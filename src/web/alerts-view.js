// The alerts view: current alerts (firing, pending, recently resolved), the notifiers' health and
// the history of state changes, from GET /v1/alerts (docs/alerting.md). Refreshes every 5 s.
import { optional, MISSING, ApiError } from './api.js';
import { h } from './views.js';

const STATE_BADGE = { firing: 'bad', pending: 'warn', resolved: 'ok' };
const NOTIFIER_BADGE = { ok: 'ok', failing: 'bad', unused: 'muted' };
const when = (iso) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '–');
const labelText = (labels) =>
  Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(', ') || '–';

function tile(label, value, cls) {
  return h('div', { class: `tile ${cls}`, 'data-tile': label }, h('div', { class: 'tile-value' }, String(value)), h('div', { class: 'tile-label' }, label));
}

function rowsTable(head, rows, empty) {
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, head.map((x) => h('th', {}, x)))),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: head.length, class: 'muted' }, empty))),
  );
}

function render(r) {
  const failing = r.notifiers.filter((n) => n.status === 'failing');
  const tiles = h(
    'div',
    { class: 'tiles' },
    tile('firing', r.counts.firing, r.counts.firing ? 'bad' : 'ok'),
    tile('pending', r.counts.pending, r.counts.pending ? 'warn' : 'ok'),
    tile('resolved', r.counts.resolved, ''),
    tile('failing notifiers', failing.length, failing.length ? 'bad' : 'ok'),
  );
  const status = h(
    'p',
    { class: 'muted' },
    r.enabled ? `last evaluation ${when(r.evaluatedAt)}` : 'alert evaluation is switched off (alerts.enabled: false)',
    r.lastError ? h('span', { class: 'error-text' }, ` — last evaluation failed: ${r.lastError}`) : null,
  );
  const alerts = rowsTable(
    ['state', 'rule', 'labels', 'what', 'since', 'fired', 'resolved'],
    r.alerts.map((a) =>
      h(
        'tr',
        { 'data-alert': a.id, 'data-state': a.state },
        h('td', {}, h('span', { class: `badge ${STATE_BADGE[a.state] ?? ''}` }, a.state)),
        h('td', {}, a.rule),
        h('td', {}, labelText(a.labels)),
        h('td', {}, a.summary),
        h('td', { class: 'nowrap' }, when(a.activeSince)),
        h('td', { class: 'nowrap' }, when(a.firedAt)),
        h('td', { class: 'nowrap' }, when(a.resolvedAt)),
      ),
    ),
    'no alerts: every rule is quiet',
  );
  const notifiers = rowsTable(
    ['notifier', 'kind', 'status', 'sent', 'failed', 'last success', 'last error'],
    r.notifiers.map((n) =>
      h(
        'tr',
        { 'data-notifier': n.name, 'data-status': n.status },
        h('td', {}, n.name),
        h('td', {}, n.kind),
        h('td', {}, h('span', { class: `badge ${NOTIFIER_BADGE[n.status] ?? ''}` }, n.status)),
        h('td', {}, String(n.sent)),
        h('td', {}, String(n.failed)),
        h('td', { class: 'nowrap' }, when(n.lastSuccessAt)),
        h('td', { class: n.lastError ? 'error-text' : 'muted' }, n.lastError ?? '–'),
      ),
    ),
    'no notifier configured: alerts are only shown here and in GET /v1/alerts (see docs/alerting.md)',
  );
  const history = rowsTable(
    ['time', 'alert', 'change', 'what'],
    r.history.map((e) =>
      h(
        'tr',
        { 'data-event': e.alertId },
        h('td', { class: 'nowrap' }, when(e.at)),
        h('td', {}, e.alertId),
        h('td', { class: 'nowrap' }, `${e.from} → ${e.to}`),
        h('td', {}, e.summary),
      ),
    ),
    'no state changes yet',
  );
  return [
    tiles,
    h('section', { class: 'panel', 'data-panel': 'alerts' }, h('h2', {}, 'Alerts'), status, alerts),
    h('section', { class: 'panel', 'data-panel': 'notifiers' }, h('h2', {}, 'Notifiers'), notifiers),
    h('section', { class: 'panel', 'data-panel': 'history' }, h('h2', {}, 'History'), history, h('span', { class: 'source' }, 'source: /v1/alerts')),
  ];
}

export function alerts(root) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'loading…'));
  root.append(body);
  let timer = null;
  let stopped = false;
  async function load() {
    try {
      const r = await optional('/v1/alerts?history=100');
      if (r === MISSING) body.replaceChildren(h('p', { class: 'muted', 'data-state': 'not-available' }, 'not available: this server has no /v1/alerts.'));
      else body.replaceChildren(...render(r));
    } catch (e) {
      body.replaceChildren(h('div', { class: 'error' }, e instanceof ApiError ? e.message : String(e?.message ?? e)));
    }
    if (!stopped) timer = setTimeout(load, 5000);
  }
  load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
