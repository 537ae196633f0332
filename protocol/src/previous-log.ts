// PreviousLog (0x16, issue 3 item 9): entry 0 of every period's log but the first (docs/ledger.md "Log rotation
// by period"). It commits the previous period's FINAL signed checkpoint (the c2sp.org/signed-note text, as the
// ledger signed it, without witness cosignatures), so the chain of periods is verifiable from any log back
// to the first (period-chain.ts). `carried` entries follow it (indexes 1..carried): byte-for-byte copies of
// entries of the previous log — the registrations, operator events and latest key bindings still in force —
// so a meter bound in period N keeps signing in N+1 without binding again.
//
//   PreviousLog: type 0x16 · version 0x01 · origin str8 (this log's origin, "<base>/<period>") ·
//                closedAtMs i64 (the ledger's UTC clock when it closed the previous log) ·
//                carried u64 · checkpoint bytes16 (UTF-8 signed note of the previous log's final checkpoint)
//
// Period ids (UTC): month "YYYY-MM", day "YYYY-MM-DD", hour "YYYY-MM-DDTHH"; they sort as text in time order.
import { Reader, Writer } from './codec.js';
import { parseCheckpointText, type Checkpoint } from './checkpoint.js';
import { utf8 } from './bytes.js';
import { ProtocolError } from './errors.js';
import { parseNote } from './note.js';
import { RecordType, VERSION_1 } from './record-types.js';

export const PREVIOUS_LOG_TYPE = RecordType.PreviousLog;

export interface PreviousLog {
  /** The origin of the log this record opens: "<base origin>/<period id>". */
  origin: string;
  /** Epoch ms (UTC) at which the ledger closed the previous log. */
  closedAtMs: bigint;
  /** Entries 1..carried of this log are copies of entries of the previous log (carried key state). */
  carried: bigint;
  /** The previous log's final signed checkpoint note (c2sp.org/tlog-checkpoint in a c2sp.org/signed-note). */
  checkpoint: string;
}

export type LogPeriodUnit = 'month' | 'day' | 'hour';
const PERIOD_PATTERNS: Record<LogPeriodUnit, RegExp> = {
  month: /^[0-9]{4}-(0[1-9]|1[0-2])$/,
  day: /^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$/,
  hour: /^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3])$/,
};

/** The period (UTC) containing epoch ms `ms`. */
export function periodOf(ms: number, unit: LogPeriodUnit): string {
  if (!Number.isFinite(ms)) throw new ProtocolError('BAD_PERIOD', 'time is not a finite number');
  const iso = new Date(ms).toISOString(); // always UTC, "YYYY-MM-DDTHH:MM:SS.sssZ"
  return unit === 'month' ? iso.slice(0, 7) : unit === 'day' ? iso.slice(0, 10) : iso.slice(0, 13);
}

/** Epoch ms (UTC) at which `period` begins; throws BAD_PERIOD for anything but a period id of `unit`. */
export function periodStartMs(period: string, unit: LogPeriodUnit): number {
  if (!PERIOD_PATTERNS[unit].test(period)) throw new ProtocolError('BAD_PERIOD', `"${period.slice(0, 40)}" is not a ${unit} period id`);
  const ms = Date.parse(unit === 'month' ? `${period}-01T00:00:00Z` : unit === 'day' ? `${period}T00:00:00Z` : `${period}:00:00Z`);
  if (!Number.isFinite(ms) || periodOf(ms, unit) !== period) throw new ProtocolError('BAD_PERIOD', `"${period}" is not a calendar ${unit}`);
  return ms;
}

/** The unit of a period id, or undefined. */
export function periodUnitOf(period: string): LogPeriodUnit | undefined {
  return (Object.keys(PERIOD_PATTERNS) as LogPeriodUnit[]).find((u) => PERIOD_PATTERNS[u].test(period));
}

/** "<base>/<period>": the origin of one period's log. */
export function periodOrigin(base: string, period: string): string {
  return `${base}/${period}`;
}

/** The period id of a period log's origin under `base`, or undefined when `origin` is not one. */
export function periodOfOrigin(base: string, origin: string): string | undefined {
  if (!origin.startsWith(`${base}/`)) return undefined;
  const p = origin.slice(base.length + 1);
  return periodUnitOf(p) ? p : undefined;
}

/**
 * True when a checkpoint origin belongs to the ledger named `base`: `base` itself (a ledger without rotation) or
 * one of its period logs "<base>/<period>". For verifiers that pin the ledger's origin (receipts, agents).
 */
export function sameLedgerOrigin(base: string, origin: string): boolean {
  return origin === base || periodOfOrigin(base, origin) !== undefined;
}

function checkpointOf(note: string): Checkpoint {
  return parseCheckpointText(parseNote(note).text);
}

function check(r: PreviousLog): void {
  if (r.origin.length === 0 || r.origin.length > 255 || /[\s+]/u.test(r.origin)) {
    throw new ProtocolError('BAD_ORIGIN', 'origin must be 1..255 characters without whitespace or "+"');
  }
  if (r.closedAtMs < 0n) throw new ProtocolError('RANGE', 'closedAtMs is negative');
  if (r.carried < 0n || r.carried >= 1n << 64n) throw new ProtocolError('RANGE', 'carried is not a u64');
  const cp = checkpointOf(r.checkpoint); // must be a signed checkpoint note (BAD_NOTE / BAD_CHECKPOINT otherwise)
  if (cp.origin === r.origin) throw new ProtocolError('BAD_PREVIOUS_LOG', 'the previous checkpoint has this log\'s own origin');
}

export function encodePreviousLog(r: PreviousLog): Uint8Array {
  check(r);
  return new Writer().u8(PREVIOUS_LOG_TYPE).u8(VERSION_1).str8(r.origin).i64(r.closedAtMs).u64(r.carried)
    .bytes16(utf8.encode(r.checkpoint)).finish();
}

export function decodePreviousLog(bytes: Uint8Array): PreviousLog {
  const rd = new Reader(bytes, 'PreviousLog');
  const t = rd.u8('type');
  if (t !== PREVIOUS_LOG_TYPE) throw new ProtocolError('WRONG_TYPE', `expected a PreviousLog record, got type 0x${t.toString(16)}`);
  const v = rd.u8('version');
  if (v !== VERSION_1) throw new ProtocolError('BAD_VERSION', `unsupported PreviousLog version ${v}`);
  const origin = rd.str8('origin');
  const closedAtMs = rd.i64('closedAtMs');
  const carried = rd.u64('carried');
  const raw = rd.bytes16('checkpoint');
  rd.end();
  let checkpoint: string;
  try {
    checkpoint = utf8.decode(raw);
  } catch (cause) {
    throw new ProtocolError('BAD_UTF8', 'PreviousLog checkpoint is not UTF-8', { cause });
  }
  const r: PreviousLog = { origin, closedAtMs, carried, checkpoint };
  check(r);
  return r;
}

/** The checkpoint body a PreviousLog commits (origin, size, root, extensions), signatures not checked. */
export function previousCheckpointOf(r: PreviousLog): Checkpoint {
  return checkpointOf(r.checkpoint);
}
