/**
 * Progress of a long import on stderr: a bar with rate and ETA on a terminal (cli-progress), a
 * plain line every few seconds otherwise (logs, CI), nothing with --quiet or --json on a pipe.
 */
import cliProgress from 'cli-progress';
import type { Clock } from '../core/types.js';

export interface Progress {
  /** `totalBytes` null when the size is unknown (stdin). */
  start(totalBytes: number | null): void;
  update(bytesDone: number, rows: number): void;
  stop(): void;
}

export const noProgress: Progress = { start() {}, update() {}, stop() {} };

export function progressFor(opts: { stream: NodeJS.WriteStream; quiet: boolean; clock: Clock; everyMs?: number }): Progress {
  if (opts.quiet) return noProgress;
  return opts.stream.isTTY ? new BarProgress(opts.stream) : new LineProgress(opts.stream, opts.clock, opts.everyMs ?? 5000);
}

class BarProgress implements Progress {
  private bar: cliProgress.SingleBar | null = null;
  private rowsAt0 = 0;
  private t0 = 0;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  start(totalBytes: number | null): void {
    this.t0 = Date.now();
    this.bar = new cliProgress.SingleBar(
      {
        stream: this.stream,
        format: totalBytes === null ? 'importing | {rows} rows | {rate} rows/s' : 'importing {bar} {percentage}% | {rows} rows | {rate} rows/s | ETA {eta_formatted}',
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(totalBytes ?? 1, 0, { rows: 0, rate: 0 });
  }

  update(bytesDone: number, rows: number): void {
    const s = (Date.now() - this.t0) / 1000;
    this.bar?.update(bytesDone, { rows, rate: s > 0 ? Math.round((rows - this.rowsAt0) / s) : 0 });
  }

  stop(): void {
    this.bar?.stop();
  }
}

/** One line every `everyMs` of the injected clock: rows, rate, percentage and ETA when the size is known. */
export class LineProgress implements Progress {
  private total: number | null = null;
  private t0 = 0;
  private last = 0;

  constructor(
    private readonly stream: { write(s: string): unknown },
    private readonly clock: Clock,
    private readonly everyMs: number,
  ) {}

  start(totalBytes: number | null): void {
    this.total = totalBytes;
    this.t0 = this.last = this.clock.now();
  }

  update(bytesDone: number, rows: number): void {
    const now = this.clock.now();
    if (now - this.last < this.everyMs) return;
    this.last = now;
    const s = (now - this.t0) / 1000;
    const rate = s > 0 ? rows / s : 0;
    let line = `import: ${rows} rows, ${Math.round(rate)} rows/s`;
    if (this.total && bytesDone > 0) {
      const frac = Math.min(1, bytesDone / this.total);
      const eta = frac > 0 ? (s * (1 - frac)) / frac : 0;
      line += `, ${(frac * 100).toFixed(0)} %, ETA ${Math.round(eta)} s`;
    }
    this.stream.write(line + '\n');
  }

  stop(): void {}
}
