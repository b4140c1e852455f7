/**
 * One row of an imported file -> one import entry (a Sensorpipe JSON record, or a problem to
 * quarantine), driven only by the mapping. Pure: no I/O, never throws for bad data.
 *
 *  row                                              | becomes
 *  -------------------------------------------------+--------------------------------------------
 *  every field empty (e.g. a `;;;;` tail)           | skipped, counted as blank
 *  CSV/TSV: more or fewer fields than the header    | problem bad_row (not guessed)
 *  NDJSON: not JSON, or not an object               | problem bad_row
 *  timestamp column(s) empty or not in the format   | problem bad_timestamp
 *  every metric value missing (a `missing` marker)  | skipped, counted as all-missing
 *  otherwise                                        | record {sensor_id, ts (ISO, UTC), readings}
 *
 * A metric value equal to a `missing` marker (numeric markers also match numerically: -200
 * matches -200,0) is left out and counted; a value that is not a number is passed on as text, so
 * validation quarantines it as non_finite like any other non-number.
 */
import { DateTime, Info, type Zone } from 'luxon';
import { metricColumns, zoneName, type Mapping } from './mapping.js';

/** What goes to the spool for one row (see src/pipeline/decode/import-rows.ts). */
export type ImportEntry =
  | { at: string; record: { sensor_id: string; ts: string; readings: Record<string, unknown> } }
  | { at: string; problem: { reason: 'bad_row' | 'bad_timestamp'; detail: string }; raw: string };

export type RowOutcome = { kind: 'entry'; entry: ImportEntry; missing: number } | { kind: 'blank' } | { kind: 'all_missing'; missing: number };

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A compiled mapping for one file: column positions resolved from its header. */
export class RowMapper {
  private readonly zone: Zone;
  private readonly fixedZone: boolean;
  private readonly markers: Set<string>;
  private readonly numericMarkers: number[];
  private readonly metrics: { metric: string; index: number; column: string }[];
  private readonly tsIndex: number[];
  private readonly sensorIndex: number | null;

  /**
   * `columns` are the file's column names (header plus header.unnamedLeading). Throws an Error
   * naming the file's columns when the mapping refers to one that is not there (a setup error:
   * nothing of the file is imported).
   */
  constructor(
    private readonly m: Mapping,
    private readonly columns: string[],
    private readonly file: string,
  ) {
    this.zone = Info.normalizeZone(zoneName(m.timestamp.timezone))!;
    this.fixedZone = this.zone.isUniversal;
    this.markers = new Set(m.missing.map((s) => s.trim()));
    this.numericMarkers = m.missing.map((s) => this.number(s)).filter((n): n is number => n !== null);
    const index = (col: string, what: string): number => {
      let i = columns.indexOf(col);
      if (i < 0) i = columns.findIndex((c) => c.trim() === col.trim());
      if (i < 0) {
        throw new Error(
          `${file}: the mapping's ${what} "${col}" is not a column of this file; its columns are ${columns.map((c) => JSON.stringify(c)).join(', ')}`,
        );
      }
      return i;
    };
    this.tsIndex = m.timestamp.columns.map((c) => index(c, 'timestamp column'));
    this.sensorIndex = 'column' in m.sensor ? index(m.sensor.column, 'sensor column') : null;
    this.metrics = metricColumns(m).map((c) => ({ metric: c.metric, column: c.column, index: index(c.column, 'metric column') }));
  }

  /** A CSV/TSV row. `raw` is the line as read (kept in quarantine when the row is refused). */
  fromFields(fields: string[], line: number, raw: string): RowOutcome {
    const at = `${this.file}:${line}`;
    if (fields.every((f) => f.trim() === '')) return { kind: 'blank' };
    if (fields.length !== this.columns.length) {
      const detail =
        `${at}: the row has ${fields.length} fields but the header names ${this.columns.length}; ` +
        'rows are not guessed: fix the row, or the delimiter/quote/header.unnamedLeading in the mapping';
      return { kind: 'entry', entry: { at, problem: { reason: 'bad_row', detail }, raw }, missing: 0 };
    }
    return this.build(at, (i) => fields[i], raw);
  }

  /** An NDJSON line: an object whose keys are the columns. */
  fromJsonLine(text: string, line: number): RowOutcome {
    const at = `${this.file}:${line}`;
    if (text.trim() === '') return { kind: 'blank' };
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (err) {
      const detail = `${at}: not valid JSON (${(err as Error).message.slice(0, 200)}); each line must be one JSON object`;
      return { kind: 'entry', entry: { at, problem: { reason: 'bad_row', detail }, raw: text }, missing: 0 };
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      const detail = `${at}: the line is ${Array.isArray(obj) ? 'an array' : obj === null ? 'null' : `a ${typeof obj}`}; each line must be one JSON object`;
      return { kind: 'entry', entry: { at, problem: { reason: 'bad_row', detail }, raw: text }, missing: 0 };
    }
    const o = obj as Record<string, unknown>;
    return this.build(at, (i) => o[this.columns[i]], text);
  }

  private build(at: string, field: (i: number) => unknown, raw: string): RowOutcome {
    const tsText = this.tsIndex.map((i) => String(field(i) ?? '').trim()).join(' ').trim();
    const ts = this.timestamp(tsText);
    if (typeof ts === 'string') {
      return { kind: 'entry', entry: { at, problem: { reason: 'bad_timestamp', detail: `${at}: ${ts}` }, raw }, missing: 0 };
    }
    const sensorId = 'id' in this.m.sensor ? this.m.sensor.id : String(field(this.sensorIndex!) ?? '').trim();
    const readings: Record<string, unknown> = {};
    let missing = 0;
    let present = 0;
    for (const c of this.metrics) {
      const v = this.value(field(c.index));
      if (v === MISSING) {
        missing++;
        continue;
      }
      readings[c.metric] = v;
      present++;
    }
    if (present === 0) return { kind: 'all_missing', missing };
    return { kind: 'entry', entry: { at, record: { sensor_id: sensorId, ts: new Date(ts).toISOString(), readings } }, missing };
  }

  /** Epoch ms, or the operator text saying why the time could not be read. */
  timestamp(text: string): number | string {
    const fmt = this.m.timestamp.format;
    const cols = this.m.timestamp.columns.join('+');
    if (text === '') return `timestamp column ${cols} is empty`;
    if (fmt === 'epoch_s' || fmt === 'epoch_ms') {
      const n = NUMBER.test(text) ? Number(text) : NaN;
      if (!Number.isFinite(n)) return `timestamp ${JSON.stringify(text)} in ${cols} is not a number (format ${fmt})`;
      return Math.floor(fmt === 'epoch_s' ? n * 1000 : n);
    }
    const dt = fmt === 'iso' ? DateTime.fromISO(text, { zone: this.zone }) : DateTime.fromFormat(text, fmt, { zone: this.zone });
    if (!dt.isValid) {
      return `timestamp ${JSON.stringify(text)} in ${cols} does not match the format ${JSON.stringify(fmt)} (${dt.invalidExplanation ?? dt.invalidReason})`;
    }
    if (!this.fixedZone && fmt !== 'iso') {
      // A local time inside a DST gap does not exist; Luxon would shift it silently.
      const wall = DateTime.fromFormat(text, fmt, { zone: 'UTC' });
      if (wall.hour !== dt.hour || wall.minute !== dt.minute || wall.day !== dt.day) {
        return `timestamp ${JSON.stringify(text)} does not exist in ${this.m.timestamp.timezone} (the clocks skip it when daylight saving time starts)`;
      }
    }
    return dt.toMillis();
  }

  private number(text: string): number | null {
    let t = text.trim();
    if (this.m.decimal === ',') t = t.replace(',', '.');
    return NUMBER.test(t) ? Number(t) : null;
  }

  private value(v: unknown): unknown {
    if (v === undefined || v === null) return MISSING;
    if (typeof v === 'number') return this.numericMarkers.includes(v) ? MISSING : v;
    if (typeof v !== 'string') return v;
    const t = v.trim();
    if (this.markers.has(t)) return MISSING;
    const n = this.number(t);
    if (n === null) return t; // validation quarantines text as non_finite
    return this.numericMarkers.includes(n) ? MISSING : n;
  }
}

const MISSING = Symbol('missing');
