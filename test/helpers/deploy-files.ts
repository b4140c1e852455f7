// Readers for the deployment files (Dockerfile, compose, docs) and for the CLI's command tree, so that
// test/unit/deploy-files.test.ts can check every command, flag and setting they name.
import type { Command } from 'commander';

export interface DockerInstruction {
  stage: number;
  op: string;
  args: string;
}

/** Instructions in order, continuation lines joined, comments dropped; `stage` counts FROMs from 0. */
export function parseDockerfile(text: string): DockerInstruction[] {
  const logical: string[] = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (cur === '' && (line.trim() === '' || line.trim().startsWith('#'))) continue;
    if (line.trim().startsWith('#')) continue;
    if (line.endsWith('\\')) {
      cur += line.slice(0, -1) + ' ';
      continue;
    }
    logical.push(cur + line);
    cur = '';
  }
  let stage = -1;
  return logical.map((l) => {
    const m = /^\s*(\w+)\s+(.*)$/.exec(l);
    if (!m) throw new Error(`not a Dockerfile instruction: ${l}`);
    const op = m[1].toUpperCase();
    if (op === 'FROM') stage++;
    return { stage, op, args: m[2].trim() };
  });
}

/** COPY [--from=x] src… dest, shell form only (what our Dockerfile uses). */
export function parseCopy(args: string): { from: string | null; sources: string[]; dest: string } {
  const tokens = args.split(/\s+/);
  let from: string | null = null;
  const rest: string[] = [];
  for (const t of tokens) {
    if (t.startsWith('--from=')) from = t.slice('--from='.length);
    else if (!t.startsWith('--')) rest.push(t);
  }
  return { from, sources: rest.slice(0, -1), dest: rest[rest.length - 1] };
}

/** The argv of an exec-form instruction argument, e.g. `CMD ["start", "--data-dir", "/x"]`. */
export function execForm(args: string): string[] {
  const json = args.slice(args.indexOf('['));
  const argv = JSON.parse(json) as unknown;
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string')) throw new Error(`not an exec-form array: ${args}`);
  return argv as string[];
}

export interface CliLevel {
  commands: string[];
  /** Long and short flags; `value` when the flag takes an argument. */
  options: Map<string, { value: boolean }>;
}

/** The CLI's commands and flags, walked in-process on the same command tree main.ts parses argv with. */
export class CliHelp {
  private constructor(private readonly program: Command) {}

  static async load(): Promise<CliHelp> {
    const { buildProgram } = await import('../../src/cli/program.js');
    return new CliHelp(buildProgram());
  }

  async level(path: string[]): Promise<CliLevel> {
    let cmd = this.program;
    for (const name of path) cmd = cmd.commands.find((c) => c.name() === name || c.aliases().includes(name))!;
    const options = new Map<string, { value: boolean }>([['--help', { value: false }], ['-h', { value: false }]]);
    for (const o of cmd.options) {
      const value = { value: o.required || o.optional };
      if (o.long) options.set(o.long, value);
      if (o.short) options.set(o.short, value);
    }
    return { commands: cmd.commands.map((c) => c.name()), options };
  }

  /** Problems with one invocation's words after `sensorpipe`: unknown subcommands or flags. */
  async problems(argv: string[]): Promise<string[]> {
    const root = await this.level([]);
    const path: string[] = [];
    let level = root;
    let descending = true;
    const out: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      const t = argv[i];
      if (t.startsWith('-')) {
        const name = t.split('=')[0];
        const opt = level.options.get(name) ?? root.options.get(name);
        if (!opt) out.push(`sensorpipe ${argv.join(' ')}: no flag ${name} on \`sensorpipe ${path.join(' ')}\``);
        else if (opt.value && !t.includes('=')) i++;
        continue;
      }
      if (descending && level.commands.includes(t)) {
        path.push(t);
        level = await this.level(path);
        continue;
      }
      if (descending && path.length === 0) out.push(`sensorpipe ${argv.join(' ')}: no command "${t}"`);
      if (descending && level.commands.length > 0) out.push(`sensorpipe ${argv.join(' ')}: \`sensorpipe ${path.join(' ')}\` has no subcommand "${t}"`);
      descending = false;
    }
    return out;
  }
}

/** Splits a shell line into words (quotes kept together), stopping at a pipe, redirect, `&&`, `;` or comment. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    const w = m[1] ?? m[2] ?? m[3];
    if (m[3] !== undefined && /^(\||\|\||&&|;|<|>|>>|#|2>&1)$/.test(w)) break;
    words.push(w);
  }
  return words;
}

/** Flags of `docker run` that take a value (to find the image name after them). */
const DOCKER_RUN_VALUE_FLAGS = new Set(['-p', '-v', '-e', '--name', '--network', '-w', '--user', '-u', '--env-file', '--entrypoint']);

/**
 * Every Sensorpipe invocation in a Markdown page's code blocks and inline code, as the words after
 * the program: `[npx] sensorpipe …`, `…bin/sensorpipe.js …` (systemd), `docker run … sensorpipe …`
 * and `docker compose run|exec <service> …` (the image's ENTRYPOINT is the program).
 * `sensorpipe` as a flag's value, a user, role or container name is not an invocation.
 */
export function sensorpipeInvocations(markdown: string, services: string[]): { line: string; argv: string[] }[] {
  const lines: string[] = [];
  let inBlock = false;
  for (const l of markdown.split('\n')) {
    if (l.trimStart().startsWith('```')) {
      inBlock = !inBlock;
      continue;
    }
    if (inBlock) lines.push(l);
    else for (const m of l.matchAll(/`([^`]+)`/g)) lines.push(m[1]);
  }
  const isProgram = (w: string | undefined) => w !== undefined && (w === 'sensorpipe' || /(^|\/)bin\/sensorpipe\.js$/.test(w));
  const out: { line: string; argv: string[] }[] = [];
  for (const line of lines) {
    const words = shellWords(line.replace(/^ExecStart=/, ''));
    let argv: string[] | null = null;
    const compose = words.findIndex((w, i) => w === 'compose' && words[i - 1] === 'docker');
    if (compose >= 0 && (words[compose + 1] === 'run' || words[compose + 1] === 'exec')) {
      let i = compose + 2;
      while (words[i]?.startsWith('-')) i++;
      if (services.includes(words[i])) argv = isProgram(words[i + 1]) ? words.slice(i + 2) : words.slice(i + 1);
    } else if (words[0] === 'docker' && words[1] === 'run') {
      let i = 2;
      while (words[i]?.startsWith('-')) i += DOCKER_RUN_VALUE_FLAGS.has(words[i]) ? 2 : 1;
      if (/^sensorpipe(:|$)/.test(words[i] ?? '')) argv = words.slice(i + 1);
    } else {
      const at = words.findIndex((w, i) => isProgram(w) && !words[i - 1]?.startsWith('-') && !isProgram(words[i + 1]) && /^(-|[a-z][a-z0-9-]*$)/.test(words[i + 1] ?? ''));
      if (at >= 0) argv = words.slice(at + 1);
    }
    if (argv && argv.length > 0) out.push({ line, argv });
  }
  return out;
}

/** Compose-style interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error}. */
export function interpolate(text: string, vars: Record<string, string>, missing: Set<string>): string {
  return text.replace(/\$\{(\w+)(?::?([-?])([^}]*))?\}/g, (_, name: string, kind?: string, rest?: string) => {
    if (vars[name] !== undefined) return vars[name];
    if (kind === '-') return rest ?? '';
    missing.add(name);
    return '';
  });
}

/** `KEY=value` lines of an env file. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(l.trim());
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** Mosquitto's `key value` lines (repeated keys keep every value). */
export function parseMosquittoConf(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const l of text.split('\n')) {
    const t = l.trim();
    if (t === '' || t.startsWith('#')) continue;
    const [k, ...v] = t.split(/\s+/);
    out.set(k, [...(out.get(k) ?? []), v.join(' ')]);
  }
  return out;
}
