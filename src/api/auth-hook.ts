import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthStore, Role } from '../auth/auth-store.js';

/** Every route declares who may call it with this pre-handler; it answers 401/403 itself. */
export function requireRole(auth: AuthStore, allowed: Role[]) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!token) {
      return reply.code(401).send({ error: 'unauthorized', message: 'send Authorization: Bearer <token> (create one with `sensorpipe tokens create --role analyst`)' });
    }
    const role = auth.roleOf(token);
    if (!role) return reply.code(401).send({ error: 'unauthorized', message: 'unknown token' });
    if (!allowed.includes(role)) {
      return reply.code(403).send({ error: 'forbidden', message: `role ${role} may not call this; allowed: ${allowed.join(', ')}` });
    }
    (req as FastifyRequest & { role?: Role }).role = role;
  };
}
