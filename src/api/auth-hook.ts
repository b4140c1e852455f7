import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthStore, Role } from '../auth/auth-store.js';

/** Who is calling, as established by `requireRole`. */
export interface Caller {
  role: Role;
  /** For device tokens tied to a device (`tokens create --role device --device <id>`), its id. */
  deviceId: string | null;
}

export interface RoleOptions {
  /** Also accept `Authorization: Token <token>`, as InfluxDB clients (Telegraf) send it. */
  tokenScheme?: boolean;
  /** The body of a 401/403 answer; default `{error, message}`. */
  errorBody?: (status: 401 | 403, message: string) => object;
  /** How to get a token, for the 401 text; default: an analyst token. */
  tokenHint?: string;
}

const CALLER = Symbol('sensorpipe.caller');
type WithCaller = FastifyRequest & { role?: Role; [CALLER]?: Caller };

/** The caller `requireRole` let through, or undefined on routes without it. */
export function callerOf(req: FastifyRequest): Caller | undefined {
  return (req as WithCaller)[CALLER];
}

/**
 * Every route declares who may call it with this hook; it answers 401/403 itself. Use it as a
 * pre-handler, or as an onRequest hook where the body must not be read before the caller is known
 * (ingest).
 */
export function requireRole(auth: AuthStore, allowed: Role[], opts: RoleOptions = {}) {
  const body = opts.errorBody ?? ((status: 401 | 403, message: string) => ({ error: status === 401 ? 'unauthorized' : 'forbidden', message }));
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ')
      ? header.slice(7).trim()
      : opts.tokenScheme && header.startsWith('Token ')
        ? header.slice(6).trim()
        : '';
    if (!token) {
      const how = opts.tokenScheme ? 'Authorization: Bearer <token> (or Token <token>)' : 'Authorization: Bearer <token>';
      const hint = opts.tokenHint ?? '`sensorpipe tokens create --role analyst`';
      return reply.code(401).send(body(401, `send ${how} (create one with ${hint})`));
    }
    const info = auth.tokenInfo(token);
    if (!info) return reply.code(401).send(body(401, 'unknown token'));
    const role = info.role;
    if (!allowed.includes(role)) {
      return reply.code(403).send(body(403, `role ${role} may not call this; allowed: ${allowed.join(', ')}`));
    }
    const r = req as WithCaller;
    r.role = role;
    r[CALLER] = { role, deviceId: info.deviceId };
  };
}
