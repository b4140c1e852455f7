import { checkConfig, ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { CliError, EXIT } from './output.js';

export interface CommonFlags {
  config?: string;
  dataDir?: string;
}

/** Loads the config from file + env + the flags common to every command. */
export function configFrom(flags: CommonFlags & { mqttPort?: string; httpPort?: string; demo?: boolean }): Config {
  const tree: Record<string, unknown> = {};
  if (flags.dataDir) tree.dataDir = flags.dataDir;
  if (flags.demo) tree.demo = true;
  if (flags.mqttPort !== undefined) tree.mqtt = { port: portFlag('--mqtt-port', flags.mqttPort) };
  if (flags.httpPort !== undefined) tree.http = { port: portFlag('--http-port', flags.httpPort) };
  const r = checkConfig({ file: flags.config, flags: tree });
  if (!r.config) throw new CliError(new ConfigError(r.source, r.problems).message + '\nRun `sensorpipe config check` to see every problem.', EXIT.config);
  return r.config;
}

function portFlag(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError(`${name} must be a port number 0-65535 (0 picks a free one), got "${v}"`, EXIT.usage);
  return n;
}
