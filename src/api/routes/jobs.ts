/**
 * Job administration (docs/jobs.md):
 *
 *   GET  /v1/jobs                  jobs with schedule, last run and next run      admin, analyst, scientist
 *   GET  /v1/jobs/history          ?job=<name>&limit=<n> (newest first)           admin, analyst, scientist
 *   POST /v1/jobs/:name/run        {"from"?, "to"?, "dryRun"?}                    admin
 *
 * A run (a backfill over every window in [from, to), or the latest closed window) answers with
 * NDJSON, one line per event as it happens, so a long backfill shows progress:
 *   {"type":"start","job":…,"from":…,"to":…,"windows":744,"note"?:…}   at once (headers flush)
 *   {"type":"waiting","message":…}               the job is running; this run waits for it
 *   {"type":"window","index":3,"total":744,"run":{…}}
 *   {"type":"summary","summary":{…}}             last line on success (failed windows included)
 *   {"type":"error","message":…}                 last line when the run could not go on
 * `from`/`to`: ISO-8601 (UTC when no zone is given), `now`, or relative (`-36h`, `-7d`).
 */
import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { AuthStore } from '../../auth/auth-store.js';
import type { Clock } from '../../core/types.js';
import type { JobRun } from '../../jobs/job-runs.js';
import { JobRangeError, type JobInfo, type ProgressEvent, type RangePlan, type RangeSummary } from '../../jobs/scheduler.js';
import { parseTime } from '../../jobs/windows.js';
import { requireRole } from '../auth-hook.js';
import { ERROR_SCHEMA, authResponses, rolesFor, rolesNote, securityFor } from '../route-roles.js';

/** What the routes need of the scheduler (the `Scheduler` class satisfies it). */
export interface JobsApi {
  has(name: string): boolean;
  names(): string[];
  list(): Promise<JobInfo[]>;
  history(opts: { job?: string; limit?: number }): Promise<JobRun[]>;
  planRange(name: string, range: { from?: number; to?: number }): RangePlan;
  runRange(plan: RangePlan, opts: { dryRun?: boolean; onProgress?: (e: ProgressEvent) => void }): Promise<RangeSummary>;
}

export function jobsRoutes(app: FastifyInstance, deps: { auth: AuthStore; jobs: JobsApi; clock: Clock }): void {
  const { jobs } = deps;
  const doc = (method: 'GET' | 'POST', path: string, summary: string, more = '') => ({
    summary,
    description: `${rolesNote(method, path)}${more ? ' ' + more : ''} See docs/jobs.md.`,
    tags: ['jobs'],
    security: securityFor(method, path),
  });
  const anyObject = { type: 'object', additionalProperties: true };
  const unknown = (name: string) => ({ error: 'unknown_job', message: `unknown job "${name}"; the jobs are: ${jobs.names().join(', ')}` });

  app.get(
    '/v1/jobs',
    {
      preHandler: requireRole(deps.auth, rolesFor('GET', '/v1/jobs')),
      schema: {
        ...doc('GET', '/v1/jobs', 'Every job: schedule (cron, UTC), window, grace, last run, next run'),
        response: { 200: { type: 'object', properties: { jobs: { type: 'array', items: anyObject } } }, ...authResponses() },
      },
    },
    async () => ({ jobs: await jobs.list() }),
  );

  app.get<{ Querystring: { job?: string; limit?: number } }>(
    '/v1/jobs/history',
    {
      preHandler: requireRole(deps.auth, rolesFor('GET', '/v1/jobs/history')),
      schema: {
        ...doc('GET', '/v1/jobs/history', 'Recent job runs, newest first (job_runs)'),
        response: { 200: { type: 'object', properties: { runs: { type: 'array', items: anyObject } } }, ...authResponses(), 404: ERROR_SCHEMA },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { job: { type: 'string', minLength: 1, maxLength: 128 }, limit: { type: 'integer', minimum: 1, maximum: 10000 } },
        },
      },
    },
    async (req, reply) => {
      const { job, limit } = req.query;
      if (job !== undefined && !jobs.has(job)) return reply.code(404).send(unknown(job));
      return { runs: await jobs.history({ job, limit: limit ?? 50 }) };
    },
  );

  app.post<{ Params: { name: string }; Body: { from?: string; to?: string; dryRun?: boolean } }>(
    '/v1/jobs/:name/run',
    {
      preHandler: requireRole(deps.auth, rolesFor('POST', '/v1/jobs/:name/run')),
      schema: {
        ...doc(
          'POST',
          '/v1/jobs/:name/run',
          'Run a job over every window in [from, to) (a backfill), or the latest closed window; NDJSON progress',
          'Answers application/x-ndjson: a start line, one line per window, then a summary (or error) line. 400 = bad time or nothing to run, 404 = unknown job.',
        ),
        params: { type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 128 } } },
        response: { ...authResponses(), 400: ERROR_SCHEMA, 404: ERROR_SCHEMA },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { from: { type: 'string', maxLength: 64 }, to: { type: 'string', maxLength: 64 }, dryRun: { type: 'boolean' } },
        },
      },
    },
    async (req, reply) => {
      const { name } = req.params;
      if (!jobs.has(name)) return reply.code(404).send(unknown(name));
      const body = req.body ?? {};
      const now = deps.clock.now();
      const range: { from?: number; to?: number } = {};
      for (const k of ['from', 'to'] as const) {
        if (body[k] === undefined) continue;
        const t = parseTime(body[k], now);
        if (t === null) {
          return reply.code(400).send({ error: 'bad_request', message: `${k}: "${body[k]}" is not a time (ISO-8601 such as 2024-05-01 or 2024-05-01T12:00Z, "now", or relative such as -36h, -7d)` });
        }
        range[k] = t;
      }
      let plan: RangePlan;
      try {
        plan = jobs.planRange(name, range);
      } catch (err) {
        if (err instanceof JobRangeError) return reply.code(400).send({ error: 'bad_range', message: err.message });
        throw err;
      }
      const stream = new PassThrough();
      const line = (o: unknown) => stream.write(JSON.stringify(o) + '\n');
      reply.code(200).header('content-type', 'application/x-ndjson; charset=utf-8').header('cache-control', 'no-store');
      line({ type: 'start', job: name, from: new Date(plan.from).toISOString(), to: new Date(plan.to).toISOString(), windows: plan.windows.length, ...(plan.note ? { note: plan.note } : {}) });
      jobs.runRange(plan, { dryRun: body.dryRun === true, onProgress: (e) => line(e) }).then(
        (summary) => stream.end(JSON.stringify({ type: 'summary', summary }) + '\n'),
        (err: unknown) => stream.end(JSON.stringify({ type: 'error', message: err instanceof Error ? err.message : String(err) }) + '\n'),
      );
      return reply.send(stream);
    },
  );
}
