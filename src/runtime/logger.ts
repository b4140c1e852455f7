import { pino } from 'pino';
import type { Logger } from '../core/types.js';

/** JSON logs on stderr (so stdout stays for what a command prints); pino satisfies our Logger. */
export function createLogger(level: string): Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(2)) as unknown as Logger;
}
