// Talking to the Sensorpipe API: bearer token, JSON, /v1/sql, and "does this route exist yet?".
const KEY = 'sensorpipe.token';

/** `/#token=<token>` in the address: keep the token and drop it from the address bar. */
export function takeTokenFromHash() {
  const m = location.hash.match(/[#&]token=([^&]+)/);
  if (!m) return;
  localStorage.setItem(KEY, decodeURIComponent(m[1]));
  history.replaceState(null, '', location.pathname + location.search + '#/');
}

export const token = {
  get: () => localStorage.getItem(KEY),
  set: (t) => localStorage.setItem(KEY, t.trim()),
  clear: () => localStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, body, path) {
    super(`${path}: HTTP ${status}${body && body.message ? ` — ${body.message}` : ''}`);
    this.status = status;
    this.body = body;
    this.path = path;
  }
}

/** Fires when the server answers 401 (no token or a wrong one). */
export const onUnauthorized = { handler: () => {} };

export async function api(path, { method = 'GET', body } = {}) {
  const headers = { authorization: `Bearer ${token.get() ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (res.status === 401) onUnauthorized.handler();
  if (!res.ok) throw new ApiError(res.status, data, path);
  return data;
}

/** Fastify's own 404 for an unregistered route ("Route GET:/v1/x not found"), not a route's 404. */
export function isMissingRoute(err) {
  return err instanceof ApiError && err.status === 404 && typeof err.body?.message === 'string' && /^Route \w+:/.test(err.body.message);
}

export const MISSING = Symbol('route missing');

/** The route's answer, or MISSING when the server does not have the route (yet). */
export async function optional(path, opts) {
  try {
    return await api(path, opts);
  } catch (err) {
    if (isMissingRoute(err)) return MISSING;
    throw err;
  }
}

/** Rows of a read-only query through POST /v1/sql. */
export async function sql(query) {
  const r = await api('/v1/sql', { method: 'POST', body: { sql: query } });
  return r.rows;
}

/** A SQL string literal. */
export function lit(s) {
  return `'${String(s).replaceAll("'", "''")}'`;
}

/** A SQL timestamp literal from epoch milliseconds (UTC). */
export function tsLit(ms) {
  return `TIMESTAMP '${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}'`;
}

/** Epoch ms from an ISO string (with or without a zone: UTC), epoch s/ms, or a Date. */
export function toMs(t) {
  if (t === null || t === undefined) return null;
  if (typeof t === 'number') return t < 1e11 ? t * 1000 : t;
  if (t instanceof Date) return t.getTime();
  const s = String(t);
  if (/^\d+(\.\d+)?$/.test(s)) return toMs(Number(s));
  return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : s.replace(' ', 'T') + 'Z');
}
