// One meter's reconciliation across a rotating ledger's period logs (docs/ledger.md §Reconciliation, "Across
// periods"). An anchor's period is its ARRIVAL at the ledger, which the collector does not know; but each
// (meter, seq) is anchored in exactly one period, and each period's index leaf commits that meter's anchors
// there (treeSize leaves in seq order, treeRoot). So the collector's leaves (re-hashed from stored values) are
// assigned to periods by proof, oldest period first:
//   - the usual case, readings arriving in seq order: the period's treeSize lowest remaining leaves hash to
//     its treeRoot — all matched, assigned, no request (RFC 9162 §2.1.1 MTH; equal roots prove equal leaves);
//   - otherwise the period's meter tree is walked (reconcile-tree.ts) with all remaining leaves: the ledger's
//     seq bounds pick the candidates, leaves it covers are matched or tampered in THAT period, and the ones it
//     does not cover stay for the later periods; only what no period covers is unanchored.
// A ledger leaf whose seq the collector holds but another period already took (a reading anchored twice, by a
// ledger that does not deduplicate resends across a boundary) is not missing: the same leaf is a match, another
// leaf at that seq is reported tampered in the period that anchors it.
import { bytesEqual, meterLeafHash, type MeterIndexLeaf } from '@meterseal/protocol';
import type { LedgerClient } from './ledger-client.js';
import type { PeriodLog } from './reconcile-period-index.js';
import { compareMeter, lowerBound, type CollectedLeaf, type LeafVerdict } from './reconcile-tree.js';
import { rootOfLeafHashes } from './rehash-hash.js';

/** A verdict with the period whose log it was found in (unanchored: the current period). */
export type PeriodVerdict = LeafVerdict & { period: string };

export interface PeriodsCompare {
  verdicts: PeriodVerdict[];
  matchedInBulk: number;
  requests: number;
}

/**
 * RFC 9162 §2.1.1 MTH over the first `n` leaf hashes, bottom-up as complete subtrees close (the same root as
 * protocol rootOfLeaves, without its recursion and allocations: this runs over every reading of a meter that
 * several periods anchor, in every window); null when one of them cannot be encoded.
 */
export function prefixRoot(leaves: readonly CollectedLeaf[], n: number): Uint8Array | null {
  return rootOfLeafHashes(n, (i) => leaves[i]!.leafHash);
}

function prefixMatches(leaves: readonly CollectedLeaf[], proven: MeterIndexLeaf): boolean {
  const n = Number(proven.treeSize);
  if (leaves.length < n) return false;
  const root = prefixRoot(leaves, n);
  return root !== null && bytesEqual(root, proven.treeRoot);
}

function find(leaves: readonly CollectedLeaf[], seq: bigint): CollectedLeaf | undefined {
  const at = leaves[lowerBound(leaves, seq)];
  return at?.seq === seq ? at : undefined;
}

/**
 * Compares one meter's leaves (sorted by seq, each seq once) with its trees in every period log (`logs` oldest
 * first, the current one last). `wholeRoot` as for compareMeter (used when only one period anchors the meter).
 */
export async function comparePeriods(
  meterId: string, mine: readonly CollectedLeaf[], logs: readonly PeriodLog[], client: LedgerClient, signal?: AbortSignal,
  seqs?: { from: bigint; to: bigint }, wholeRoot?: Uint8Array | null,
): Promise<PeriodsCompare> {
  const current = logs[logs.length - 1]!.period;
  const inRange = (s: bigint): boolean => seqs === undefined || (s >= seqs.from && s <= seqs.to);
  const out: PeriodsCompare = { verdicts: [], matchedInBulk: 0, requests: 0 };
  const holding = logs.flatMap((l) => {
    const proven = l.leaves.get(meterId);
    return proven && proven.treeSize > 0n ? [{ log: l, proven }] : [];
  });
  if (holding.length <= 1) {
    // one period anchors this meter (or none): exactly the single-log comparison, in that period
    const only = holding[0];
    const r = await compareMeter(meterId, mine, only?.proven, client, signal, seqs, wholeRoot, only?.log.period);
    out.matchedInBulk = r.matchedInBulk;
    out.requests = r.requests;
    for (const v of r.verdicts) out.verdicts.push({ ...v, period: v.kind === 'unanchored' ? current : only!.log.period });
    return out;
  }
  let rest: readonly CollectedLeaf[] = mine;
  const elsewhere: PeriodVerdict[] = [];
  for (const { log, proven } of holding) {
    signal?.throwIfAborted();
    if (prefixMatches(rest, proven)) {
      const n = Number(proven.treeSize);
      for (let i = 0; i < n; i++) if (inRange(rest[i]!.seq)) out.matchedInBulk++;
      rest = rest.slice(n);
      continue;
    }
    const r = await compareMeter(meterId, rest, proven, client, signal, seqs, undefined, log.period);
    out.matchedInBulk += r.matchedInBulk;
    out.requests += r.requests;
    for (const v of r.verdicts) {
      if (v.kind === 'unanchored') continue; // another period may hold it: decided after the last one
      if (v.kind === 'missing') elsewhere.push({ ...v, period: log.period });
      else out.verdicts.push({ ...v, period: log.period });
    }
    rest = r.uncovered;
  }
  for (const v of elsewhere) {
    if (v.kind !== 'missing') continue;
    const taken = find(mine, v.seq); // not among the remaining leaves: does an earlier period hold the collector's reading?
    if (taken === undefined) out.verdicts.push(v);
    else if (taken.leafHash !== null && bytesEqual(taken.leafHash, meterLeafHash(v.ledger))) continue; // anchored twice, the same reading
    else out.verdicts.push({ kind: 'tampered', seq: v.seq, ledger: v.ledger, mine: taken, period: v.period });
  }
  for (const m of rest) if (inRange(m.seq)) out.verdicts.push({ kind: 'unanchored', seq: m.seq, mine: m, period: current });
  out.verdicts.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
  return out;
}
