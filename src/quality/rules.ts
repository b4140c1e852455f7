/**
 * Rules between metrics: a tiny, safe grammar (no eval, no functions, no arithmetic).
 *
 *   rule    := operand ws* op ws* operand
 *   operand := metric | number
 *   metric  := [A-Za-z0-9][A-Za-z0-9._:-]{0,127}   (the id alphabet; must not read as a number)
 *   number  := -?digits[.digits][e[+-]digits]        (finite)
 *   op      := "<=" | "<" | ">=" | ">"
 *
 * At least one operand is a metric and the two operands differ. Anything else is refused with a
 * message that says what was expected.
 */
import { ID_PATTERN } from '../core/ids.js';

export type RuleOp = '<=' | '<' | '>=' | '>';
export type Operand = { kind: 'metric'; name: string } | { kind: 'number'; value: number };

export interface Rule {
  left: Operand;
  op: RuleOp;
  right: Operand;
  /** Normalized text: `left op right` with single spaces. */
  text: string;
  /** Metric names the rule reads (1 or 2). */
  metrics: string[];
}

export type ParseResult = { ok: true; rule: Rule } | { ok: false; error: string };

const NUMBER = /^-?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const MAX_LENGTH = 300;

function operand(tok: string): Operand | null {
  if (NUMBER.test(tok)) {
    const value = Number(tok);
    return Number.isFinite(value) ? { kind: 'number', value } : null;
  }
  return ID_PATTERN.test(tok) ? { kind: 'metric', name: tok } : null;
}

function show(o: Operand): string {
  return o.kind === 'metric' ? o.name : String(o.value);
}

export function parseRule(input: unknown): ParseResult {
  if (typeof input !== 'string') return { ok: false, error: 'a rule must be a string like "dew_point <= temperature"' };
  if (input.length > MAX_LENGTH) return { ok: false, error: `a rule is at most ${MAX_LENGTH} characters` };
  const m = /^\s*(\S+?)\s*(<=|>=|<|>)\s*(\S+)\s*$/.exec(input);
  if (!m) {
    return {
      ok: false,
      error: `cannot read rule ${JSON.stringify(input)}: expected "metric op metric" or "metric op number", op one of <= < >= >`,
    };
  }
  const [, l, op, r] = m;
  // A second operator hidden in an operand ("a < b < c", "a <= <b") is refused, not half-read.
  for (const tok of [l, r]) {
    if (/[<>=!]/.test(tok)) return { ok: false, error: `cannot read rule ${JSON.stringify(input)}: only one comparison (<= < >= >) is allowed` };
  }
  const left = operand(l);
  const right = operand(r);
  for (const [tok, o] of [
    [l, left],
    [r, right],
  ] as const) {
    if (!o) return { ok: false, error: `cannot read rule ${JSON.stringify(input)}: ${JSON.stringify(tok)} is neither a metric name nor a finite number` };
  }
  if (left!.kind === 'number' && right!.kind === 'number') return { ok: false, error: `rule ${JSON.stringify(input)} compares two numbers: name at least one metric` };
  if (left!.kind === 'metric' && right!.kind === 'metric' && left!.name === right!.name) {
    return { ok: false, error: `rule ${JSON.stringify(input)} compares a metric with itself` };
  }
  const metrics = [left!, right!].flatMap((o) => (o.kind === 'metric' ? [o.name] : []));
  return { ok: true, rule: { left: left!, op: op as RuleOp, right: right!, text: `${show(left!)} ${op} ${show(right!)}`, metrics } };
}

/** Parses or throws (for rules already validated by the config schema). */
export function mustParseRule(input: string): Rule {
  const r = parseRule(input);
  if (!r.ok) throw new Error(r.error);
  return r.rule;
}

/**
 * Whether the rule holds for these metric values, with `tolerance` of slack in the metrics' unit
 * (`a <= b` fails only when a > b + tolerance; `a < b` fails when a >= b + tolerance).
 * Returns null when a metric the rule needs is missing.
 */
export function ruleHolds(rule: Rule, values: Record<string, number | undefined>, tolerance = 0): boolean | null {
  const get = (o: Operand): number | undefined => (o.kind === 'number' ? o.value : values[o.name]);
  const a = get(rule.left);
  const b = get(rule.right);
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b)) return null;
  switch (rule.op) {
    case '<=':
      return a <= b + tolerance;
    case '<':
      return a < b + tolerance;
    case '>=':
      return a >= b - tolerance;
    case '>':
      return a > b - tolerance;
  }
}
