/**
 * Shared knobs for the property-based fuzz tests (`*.fuzz.test.ts`, `*.property.test.ts`).
 * No fast-check import here: this file ships in the protocol package, the tests bring fast-check.
 *
 *   METERSEAL_FUZZ_RUNS=1000000 node scripts/run-tests.mjs protocol/src/reading.fuzz.test.ts
 *   npm run fuzz            # every *.fuzz.test.ts at 10^6 runs per property
 */
import { appendFileSync } from 'node:fs';
import { relative } from 'node:path';
import { inspect } from 'node:util';

/** Runs per property: env `METERSEAL_FUZZ_RUNS` (a positive integer) when set, else `defaultRuns`. */
export function fuzzRuns(defaultRuns: number): number {
  const raw = process.env['METERSEAL_FUZZ_RUNS'];
  if (raw === undefined || raw.trim() === '') return defaultRuns;
  const n = Number(raw.trim());
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`METERSEAL_FUZZ_RUNS must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/**
 * Wall-clock budget for one property in milliseconds (for fast-check `interruptAfterTimeLimit`):
 * env `METERSEAL_FUZZ_TIME_LIMIT_MS`, else 20 s for the short CI pass and 10 min when runs were raised,
 * so even the 10^6 pass ends. A property interrupted by the budget passes with the runs it managed.
 */
export function fuzzTimeLimitMs(): number {
  const raw = process.env['METERSEAL_FUZZ_TIME_LIMIT_MS'];
  if (raw !== undefined && raw.trim() !== '') {
    const n = Number(raw.trim());
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new RangeError(`METERSEAL_FUZZ_TIME_LIMIT_MS must be a positive integer, got ${JSON.stringify(raw)}`);
    }
    return n;
  }
  return process.env['METERSEAL_FUZZ_RUNS'] ? 600_000 : 20_000;
}

/** What fast-check hands a reporter (the fields used here; fast-check's RunDetails has more). */
interface RunDetailsLike {
  failed: boolean;
  interrupted: boolean;
  numRuns: number;
  numSkips: number;
  seed: number;
  counterexample: unknown;
  counterexamplePath: string | null;
  errorInstance: unknown;
}

export interface FuzzParams {
  numRuns: number;
  interruptAfterTimeLimit: number;
  markInterruptAsFailure: false;
  reporter?: (details: RunDetailsLike) => void;
}

let propertyIndex = 0;

/**
 * fast-check parameters in one call: `fc.assert(prop, fuzzParams(300))`. With env `METERSEAL_FUZZ_REPORT=FILE`
 * (scripts/fuzz.mjs sets it) each property also appends one JSON line to FILE — test file, property index,
 * runs done, whether the time budget cut it short, wall-clock ms — and still fails exactly as fast-check would.
 */
export function fuzzParams(defaultRuns: number): FuzzParams {
  const params: FuzzParams = { numRuns: fuzzRuns(defaultRuns), interruptAfterTimeLimit: fuzzTimeLimitMs(), markInterruptAsFailure: false };
  const reportFile = process.env['METERSEAL_FUZZ_REPORT'];
  if (!reportFile) return params;
  const started = Date.now(); // fuzzParams is evaluated as fc.assert's argument: the property starts now
  const index = propertyIndex++;
  params.reporter = (d) => {
    const line = { file: relative(process.cwd(), process.argv[1] ?? '?'), property: index, runs: d.numRuns, skips: d.numSkips, interrupted: d.interrupted, failed: d.failed, ms: Date.now() - started };
    appendFileSync(reportFile, `${JSON.stringify(line)}\n`);
    if (!d.failed) return;
    const example = inspect(d.counterexample, { depth: 6, maxArrayLength: 64, breakLength: Infinity });
    const cause = d.errorInstance instanceof Error ? d.errorInstance.message : String(d.errorInstance);
    throw new Error(`Property failed after ${d.numRuns} tests { seed: ${d.seed}, path: ${JSON.stringify(d.counterexamplePath)} } Counterexample: ${example}: ${cause}`, { cause: d.errorInstance });
  };
  return params;
}

/** The mutations `mutateBytes` applies, chosen by `op % MUTATIONS.length`. */
export const MUTATIONS = ['flip-bit', 'set-byte', 'truncate', 'extend', 'delete-byte', 'insert-byte', 'duplicate-span', 'set-length'] as const;

/**
 * One deterministic mutation of a valid encoding, driven by three numbers a fuzzer draws
 * (`op`, `at`, `value`): bit flips, byte changes, truncations, extensions, deletions, insertions,
 * repeated spans, and a 1/2/4-byte big-endian "length field" overwritten with a nearby or extreme value.
 */
export function mutateBytes(input: Uint8Array, op: number, at: number, value: number): Uint8Array {
  const b = Uint8Array.from(input);
  const kind = MUTATIONS[Math.abs(op) % MUTATIONS.length]!;
  const i = b.length === 0 ? 0 : Math.abs(at) % b.length;
  const v = Math.abs(value) & 0xff;
  switch (kind) {
    case 'flip-bit':
      if (b.length) b[i]! ^= 1 << (v & 7);
      return b;
    case 'set-byte':
      if (b.length) b[i] = v;
      return b;
    case 'truncate':
      return b.subarray(0, Math.abs(at) % (b.length + 1));
    case 'extend':
      return Uint8Array.from([...b, ...Array.from({ length: 1 + (v & 15) }, (_, k) => (v * 31 + k * 7) & 0xff)]);
    case 'delete-byte':
      return b.length ? Uint8Array.from([...b.subarray(0, i), ...b.subarray(i + 1)]) : b;
    case 'insert-byte':
      return Uint8Array.from([...b.subarray(0, i), v, ...b.subarray(i)]);
    case 'duplicate-span': {
      const n = 1 + (v % 16);
      return Uint8Array.from([...b.subarray(0, i + n), ...b.subarray(i)]);
    }
    case 'set-length': {
      const width = [1, 2, 4][v % 3]!;
      const choices = [0, 1, 0xff, 0xffff, 0xffffffff, (b[i] ?? 0) + 1, Math.max(0, (b[i] ?? 0) - 1), 0x7f, 0x80];
      let n = choices[(v >> 2) % choices.length]!;
      for (let k = width - 1; k >= 0 && i + k >= 0; k--) {
        if (i + k < b.length) b[i + k] = n & 0xff;
        n = Math.floor(n / 256);
      }
      return b;
    }
  }
}

/** An error class a fuzz test accepts: instances must also carry a non-empty string `code`. */
export type TypedErrorClass = abstract new (...args: never[]) => Error & { code: unknown };

/**
 * Runs `f`; true when it returns. A throw must be an instance of `errorClass` with a non-empty string
 * `code` (the package's typed error), else a descriptive Error is thrown so fast-check reports the input.
 */
export function valueOrTyped(errorClass: TypedErrorClass, f: () => unknown): boolean {
  try {
    f();
    return true;
  } catch (err) {
    if (err instanceof errorClass && typeof (err as { code: unknown }).code === 'string' && (err as { code: string }).code.length > 0) return true;
    const e = err as Error | undefined;
    throw new Error(`expected a ${errorClass.name} with a string code, got ${e?.constructor?.name ?? typeof err}: ${e?.message ?? String(err)}`);
  }
}

/** Cuts `bytes` into consecutive chunks whose sizes cycle through `sizes` (each ≥ 1): a stream's arrival. */
export function chunked(bytes: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = Math.max(1, Math.floor(sizes.length ? sizes[i % sizes.length]! : bytes.length));
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}
