/**
 * The dashboard (docs/dashboard.md): plain ES modules from src/web/ and uPlot from node_modules,
 * served as they are (no bundler). The files need no token; every data call they make does.
 *
 *   GET /                     the dashboard page
 *   GET /web/<file>           its scripts and styles (a fixed list)
 *   GET /web/vendor/uplot.js  uPlot (ESM build), /web/vendor/uplot.css its styles
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * The dashboard files: src/web when this runs as src/api/routes/web.ts (tsx), the package's src/web
 * when it runs as dist/api/routes/web.js (built), or dist/web if a packager copied them there.
 */
export function webDir(): { dir: string | null; looked: string[] } {
  const here = dirname(fileURLToPath(import.meta.url));
  const looked = [join(here, '..', '..', 'web'), join(here, '..', '..', '..', 'src', 'web')];
  return { dir: looked.find((d) => existsSync(join(d, 'index.html'))) ?? null, looked };
}

function uplotDir(): string {
  return dirname(createRequire(import.meta.url).resolve('uplot'));
}

export function webRoutes(app: FastifyInstance): void {
  const { dir, looked } = webDir();
  if (!dir) {
    // Without the files the API still works; / says what is missing instead of failing the server.
    const message = `the dashboard files are not installed (looked in ${looked.join(', ')})`;
    app.get('/', async (_req, reply) => reply.code(404).send({ error: 'not_found', message }));
    return;
  }
  const vendor = uplotDir();
  const files = new Map<string, string>([
    ['index.html', join(dir, 'index.html')],
    ['app.js', join(dir, 'app.js')],
    ['api.js', join(dir, 'api.js')],
    ['charts.js', join(dir, 'charts.js')],
    ['views.js', join(dir, 'views.js')],
    ['alerts-view.js', join(dir, 'alerts-view.js')],
    ['style.css', join(dir, 'style.css')],
    ['vendor/uplot.js', join(vendor, 'uPlot.esm.js')],
    ['vendor/uplot.css', join(vendor, 'uPlot.min.css')],
  ]);
  const send = async (name: string, reply: import('fastify').FastifyReply) => {
    const path = files.get(name);
    if (!path) return reply.code(404).send({ error: 'not_found', message: `no dashboard file ${name}` });
    const ext = name.slice(name.lastIndexOf('.'));
    return reply
      .type(TYPES[ext] ?? 'application/octet-stream')
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .send(await readFile(path));
  };
  app.get('/', async (_req, reply) => send('index.html', reply));
  app.get<{ Params: { '*': string } }>('/web/*', async (req, reply) => send(req.params['*'], reply));
}
