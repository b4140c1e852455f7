// Every command of the CLI, found by walking the command tree (a new command is covered without
// editing this test): `--help` exits 0 and shows examples, options are spelled --kebab-case, and a
// usage error exits 2 and points to --help.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/program.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function leaves(cmd: Command, path: string[] = []): { path: string[]; cmd: Command }[] {
  if (cmd.commands.length === 0) return [{ path, cmd }];
  return cmd.commands.flatMap((c) => leaves(c, [...path, c.name()]));
}

function cli(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
}

const commands = leaves(buildProgram());

test('the command tree has every documented command', () => {
  const names = commands.map((c) => c.path.join(' '));
  for (const expected of ['start', 'config check', 'devices add', 'tokens create', 'query', 'status', 'simulate', 'jobs run', 'import', 'export readings', 'export features', 'report digest']) {
    assert.ok(names.includes(expected), `sensorpipe ${expected} exists (have: ${names.join(', ')})`);
  }
});

/** What `sensorpipe <path> --help` prints, rendered in-process by the same commander code. */
function helpOf(cmd: Command): string {
  let out = '';
  cmd.configureOutput({ writeOut: (s) => void (out += s), writeErr: (s) => void (out += s) });
  cmd.outputHelp();
  return out;
}

test('every command: --help has a description and examples; flags are --kebab-case', () => {
  const problems: string[] = [];
  for (const { path, cmd } of commands) {
    const name = `sensorpipe ${path.join(' ')}`;
    if (!/\nExamples:\n\s+\S/.test(helpOf(cmd))) problems.push(`${name} --help shows no examples`);
    if (!cmd.description()) problems.push(`${name} has no description`);
    for (const o of cmd.options) {
      if (o.long && !/^--[a-z0-9]+(-[a-z0-9]+)*$/.test(o.long)) problems.push(`${name}: option ${o.long} is not --kebab-case`);
    }
  }
  assert.deepEqual(problems, []);
});

test('--help exits 0 from the real binary', () => {
  const r = cli(['import', '--help']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Usage: sensorpipe import/);
});

test('a usage error exits 2 and names the fix', () => {
  const r = cli(['query', '--no-such-flag']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown option '--no-such-flag'/);
  assert.match(r.stderr, /--help/);
  const top = cli(['frobnicate']);
  assert.equal(top.status, 2);
  assert.match(top.stderr, /unknown command 'frobnicate'/);
});
