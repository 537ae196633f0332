// The reconciliation report: what the collector holds, compared with what the ledger anchored.

/** How one (meter, seq) compares (README §Reconciliation). */
export type Outcome = 'matched' | 'tampered' | 'missing' | 'unanchored' | 'conflict';

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
}

export interface ReportCounts {
  matched: number;
  tampered: number;
  missing: number;
  unanchored: number;
  /** (meter, seq) pairs for which a different reading than the stored one was delivered. */
  conflicts: number;
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
}

/** A sortable, unique id: "r-20261121T120000123Z-1a2b3c4d". */
export function newReportId(now: Date, random: Uint8Array): string {
  const stamp = now.toISOString().replace(/[-:.]/g, '');
  return `r-${stamp}-${Buffer.from(random.subarray(0, 4)).toString('hex')}`;
}

export const REPORT_ID_PATTERN = /^r-\d{8}T\d{9}Z-[0-9a-f]{8}$/;
