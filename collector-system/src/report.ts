// The reconciliation report: what the collector holds, compared with what the ledger anchored.

/** How one (meter, seq) compares (README §Reconciliation). */
export type Outcome = 'matched' | 'tampered' | 'missing' | 'unanchored' | 'conflict' | 'pending';

/** A reading's values as shown in a report (u64/i64 as decimal strings). */
export interface ReadingValues {
  meterTimeMs: string | null;
  agentTimeMs: string;
  status: number;
  registers: { obis: string; value: string; scaler: number; unit: string }[];
}

export interface ReportItem {
  meterId: string;
  /** Decimal uint64. */
  seq: string;
  outcome: Exclude<Outcome, 'matched'>;
  /** SHA-256 of the reading re-encoded from the stored values (hex); absent when nothing is stored or it cannot be encoded. */
  collectedHash?: string;
  /** The reading hash the ledger anchored (hex); absent when the ledger has no anchor. */
  ledgerHash?: string;
  /** Why a stored reading could not be re-encoded, or how many conflicting deliveries were recorded. */
  detail?: string;
  /** The stored values (tampered, unanchored, pending, conflict); the ledger side only ever has the hash. */
  collected?: ReadingValues;
  /** conflict: the values of the other delivery for the same (meter, seq). */
  delivered?: ReadingValues;
  /**
   * A rotating ledger (docs/ledger.md §"Log rotation by period"): the period whose log holds the anchor (tampered,
   * missing), or, for a reading no period anchors (unanchored), the current period — the only log it can still enter.
   */
  period?: string;
}

/**
 * Seqs X..Y missing on the collector side and explained by a signed gap record (docs/protocol.md §12) whose
 * anchor is proven in the ledger: the collector rebuilt the gap's anchor leaf (seq X, the delivery's key id,
 * SHA-256 of the stored gap record) and it is the ledger's leaf at seq X of the meter's tree.
 */
export interface ExplainedItem {
  meterId: string;
  /** First missing seq (decimal); the gap record is anchored here. */
  seq: string;
  lastSeq: string;
  outcome: 'explained';
  /** GapReason name (SerialFailure, PowerLoss, DiskFull, BusTimeout). */
  reason: string;
  /** "" when the meter's own agent signed; else the gateway that holds the meter's keys. */
  signer: string;
  /** The interval without readings, UTC epoch ms (decimal). */
  fromMs: string;
  toMs: string;
  /** SHA-256 of the gap record (hex): the hash the ledger's anchor at `seq` carries. */
  ledgerHash: string;
  detail: string;
}

/** Corrected register values as shown in a report (no raw bytes: nothing was read). */
export interface CorrectedValues {
  /** The correction's own seq (decimal), where it is anchored. */
  seq: string;
  agentTimeMs: string;
  reason: string;
  registers: { obis: string; value: string; scaler: number; unit: string }[];
}

/**
 * A reading corrected by a signed Correction (docs/protocol.md §14) whose anchor is proven in the ledger. The
 * original is untouched and still reconciled on its own; this shows its values with the correction's beside them.
 */
export interface AdjustedItem {
  meterId: string;
  /** The original reading's seq (decimal). */
  seq: string;
  outcome: 'adjusted';
  /** The original reading's stored values; absent when it is not stored. */
  collected?: ReadingValues;
  /** SHA-256 of the original re-encoded from its stored values (hex). */
  collectedHash?: string;
  corrected: CorrectedValues;
  /** SHA-256 of the correction record (hex): the hash the ledger's anchor at corrected.seq carries. */
  ledgerHash: string;
  detail?: string;
}

/** Per meter: readings expected from the configured interval against those received. */
export interface MeterCompleteness {
  meterId: string;
  received: number;
  /** Intervals from the first reading's agent time to the run, plus one. */
  expected: number;
  firstSeq?: string;
  lastSeq?: string;
  /** ISO-8601 UTC agent time of the newest reading. */
  lastReadingAt?: string;
  /** No reading for more than two intervals. */
  silent: boolean;
  /**
   * Seqs from 1 (or the range's first) to the highest known one without a stored reading or correction, split
   * into those inside a proven gap record (explained) and the rest (unexplained). Present when the run had the
   * gap store.
   */
  explainedMissing?: number;
  unexplainedMissing?: number;
}

/** The collector as a witness of the ledger's log (witness.ts). */
export interface WitnessResult {
  /** first: nothing cosigned before; cosigned: consistent with the last cosigned checkpoint; alarm: not. */
  status: 'first' | 'cosigned' | 'alarm';
  previousSize?: string;
  /** The cosignature line (c2sp.org/tlog-cosignature) added to the checkpoint. */
  cosignature?: string;
  alarm?: { code: 'TREE_SHRANK' | 'FORK' | 'INCONSISTENT' | 'ORIGIN_CHANGED' | 'CHAIN_BROKEN' | 'PERIOD_REGRESSED'; message: string };
  /** A rotating ledger: the period whose checkpoint was cosigned, and the period last cosigned before it when it differs. */
  period?: string;
  previousPeriod?: string;
}

/** One period log a rotating ledger's reconciliation used (reconcile-period.ts). */
export interface PeriodSummary {
  period: string;
  origin: string;
  closed: boolean;
  /** The checkpoint reconciled against: a closed period's final one. */
  size: string;
  rootHex: string;
  /** A closed period's checkpoint and index came from the collector's cache of verified ledger data (no request). */
  cached?: boolean;
}

/** The chain of period logs (protocol verifyPeriodChain) across the periods used. */
export interface ChainResult {
  status: 'verified' | 'alarm';
  /** Oldest first. */
  periods: string[];
  alarm?: { code: string; message: string };
}

export interface ReportCounts {
  matched: number;
  tampered: number;
  missing: number;
  unanchored: number;
  /** (meter, seq) pairs for which a different reading than the stored one was delivered. */
  conflicts: number;
  /** Missing or unanchored, but newer than two intervals: expected to arrive. */
  pending?: number;
}

export interface Report {
  id: string;
  /** ISO-8601 UTC. */
  startedAt: string;
  finishedAt: string;
  /** The verified checkpoint the reconciliation ran against. */
  checkpoint: { origin: string; size: string; rootHex: string };
  counts: ReportCounts;
  /** Every item that is not matched, ordered by meter id, then seq. */
  items: ReportItem[];
  /** clean: everything matched and witnessed; divergent: items to look at; alarm: the witness refused the checkpoint, or the period chain is broken. */
  outcome?: 'clean' | 'divergent' | 'alarm';
  /** The per-meter index the checkpoint commits (its extension line). */
  index?: { meters: string; rootBase64: string };
  witness?: WitnessResult;
  meters?: MeterCompleteness[];
  /** Meter ids silent for more than two intervals. */
  silentMeters?: string[];
  /** What crossed the air gap: requests and bytes (requests and answers, headers included). */
  traffic?: { requests: number; bytes: number };
  /** Missing seqs explained by proven gap records (not divergences), by meter, then seq. */
  explained?: ExplainedItem[];
  /** Readings shown adjusted by proven corrections (not divergences), by meter, then seq. */
  adjusted?: AdjustedItem[];
  /** A rotating ledger: every period log reconciled, oldest first, and the chain that ties them. */
  periods?: PeriodSummary[];
  chain?: ChainResult;
}

/** The report as a JSON document. */
export function reportJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

const CSV_COLUMNS = ['meterId', 'seq', 'outcome', 'collectedHash', 'ledgerHash', 'detail', 'collected', 'delivered', 'lastSeq', 'reason', 'signer', 'corrected', 'period'] as const;

/** RFC 4180 field: quoted when it holds a comma, quote or line break; quotes doubled. */
function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * The report's items as CSV (RFC 4180, CRLF line ends): one row per divergence, then one per explained gap and one
 * per adjusted reading; values as JSON in their cells.
 */
export function reportCsv(report: Report): string {
  const rows = [CSV_COLUMNS.join(',')];
  for (const it of [...report.items, ...(report.explained ?? []), ...(report.adjusted ?? [])]) {
    rows.push(CSV_COLUMNS.map((c) => {
      const v = (it as Partial<Record<(typeof CSV_COLUMNS)[number], unknown>>)[c];
      return csvField(v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
    }).join(','));
  }
  return `${rows.join('\r\n')}\r\n`;
}

/** A sortable, unique id: "r-20261121T120000123Z-1a2b3c4d". */
export function newReportId(now: Date, random: Uint8Array): string {
  const stamp = now.toISOString().replace(/[-:.]/g, '');
  return `r-${stamp}-${Buffer.from(random.subarray(0, 4)).toString('hex')}`;
}

export const REPORT_ID_PATTERN = /^r-\d{8}T\d{9}Z-[0-9a-f]{8}$/;

/** One line of a text progress bar ("[#####.....]  12/40 meters  3400 readings  M-12"), for a TTY. */
export function progressBar(p: { metersDone: number; metersTotal: number; readingsDone?: number; meterId: string }, width = 30): string {
  const frac = p.metersTotal === 0 ? 1 : Math.min(1, p.metersDone / p.metersTotal);
  const full = Math.round(frac * width);
  const readings = p.readingsDone === undefined ? '' : `  ${p.readingsDone} readings`;
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${p.metersDone}/${p.metersTotal} meters${readings}  ${p.meterId.slice(0, 64)}`;
}

/** The report exported as `format`. */
export function exportReport(report: Report, format: 'json' | 'csv'): string {
  return format === 'csv' ? reportCsv(report) : reportJson(report);
}
