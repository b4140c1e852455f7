import { readFileSync, existsSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { configSchema, type Config } from './schema.js';

/** A config problem with the path of the offending setting, e.g. `mqtt.port`. */
export interface ConfigProblem {
  path: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(public readonly source: string, public readonly problems: ConfigProblem[]) {
    super(
      `configuration in ${source} has ${problems.length} problem(s):\n` +
        problems.map((p) => `  - ${p.path || '(root)'}: ${p.message}`).join('\n'),
    );
  }
}

type Tree = Record<string, unknown>;

/**
 * Environment variables: SENSORPIPE_<PATH> where PATH is the setting with `__` between levels,
 * e.g. SENSORPIPE_MQTT__PORT=1884, SENSORPIPE_DATA_DIR=/var/lib/sensorpipe.
 * Single-level names use the camelCase key in SNAKE_CASE (DATA_DIR -> dataDir); job names under
 * JOBS stay snake_case (SENSORPIPE_JOBS__LAKE_COMPACT__MIN_FILES=8 -> jobs.lake_compact.minFiles).
 */
/** SENSORPIPE_* variables that are not settings: the CLI's token and the test-only crash points. */
const NOT_SETTINGS = new Set(['SENSORPIPE_TOKEN', 'SENSORPIPE_CRASH_AT']);

export function envOverrides(env: NodeJS.ProcessEnv): Tree {
  const out: Tree = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('SENSORPIPE_') || raw === undefined || NOT_SETTINGS.has(name)) continue;
    const path = name
      .slice('SENSORPIPE_'.length)
      .split('__')
      // Job names are snake_case keys (jobs.lake_compact, jobs.rollup_1h): they stay as they are.
      .map((part, i, parts) => (i === 1 && parts[0] === 'JOBS' ? part.toLowerCase() : part.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())));
    setPath(out, path, coerce(raw));
  }
  return out;
}

function coerce(raw: string): unknown {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if (raw.startsWith('{') || raw.startsWith('[')) {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  return raw;
}

export function setPath(tree: Tree, path: string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Tree;
  }
  node[path[path.length - 1]] = value;
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? merge(b as Tree, v as Tree)
        : v;
  }
  return out;
}

export interface LoadOptions {
  /** Explicit file; when absent `./sensorpipe.yaml` is used if it exists. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Overrides from command-line flags, as a partial config tree. */
  flags?: Tree;
}

/** Returns every problem at once instead of stopping at the first. */
export function checkConfig(opts: LoadOptions = {}): { config?: Config; problems: ConfigProblem[]; source: string } {
  const file = opts.file ?? (existsSync('sensorpipe.yaml') ? 'sensorpipe.yaml' : undefined);
  let fromFile: Tree = {};
  const source = file ?? 'defaults';
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      return { problems: [{ path: '', message: `cannot read ${file}: ${(err as Error).message}` }], source };
    }
    try {
      const parsed = parseYaml(text) as unknown;
      if (parsed !== null && parsed !== undefined) {
        if (typeof parsed !== 'object' || Array.isArray(parsed)) {
          return { problems: [{ path: '', message: 'the file must hold a mapping of settings' }], source };
        }
        fromFile = parsed as Tree;
      }
    } catch (err) {
      return { problems: [{ path: '', message: `not valid YAML: ${(err as Error).message}` }], source };
    }
  }
  const merged = merge(merge(fromFile, envOverrides(opts.env ?? process.env)), opts.flags ?? {});
  const result = configSchema.safeParse(merged);
  if (result.success) return { config: result.data, problems: [], source };
  return {
    source,
    problems: result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  };
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const r = checkConfig(opts);
  if (!r.config) throw new ConfigError(r.source, r.problems);
  return r.config;
}
