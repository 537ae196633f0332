// One meter's reconciliation by its meter tree (docs/ledger.md §Reconciliation). The collector rebuilds
// every leaf from stored VALUES (re-encoded, re-hashed, with the key id of the delivery) and compares its
// root with the ledger's proven one; only where they differ does it walk down the ledger's tree. Every
// node the ledger sends is checked against its proven parent (RFC 9162 §2.1.1: node = H(0x01‖left‖right)),
// and every leaf list against its proven node, so nothing the ledger says is taken on trust; the seq bounds
// the ledger names for a child only choose which of the collector's readings to hash against it: a match
// proves those readings are exactly that child's leaves, a lie can only produce a mismatch.
import { NODE_LEAVES_MAX, bytesEqual, meterLeafHash, nodeHash, rootOfLeaves, splitNode, type Anchor, type MeterIndexLeaf } from '@meterseal/protocol';
import { CollectorError } from './errors.js';
import type { LedgerClient } from './ledger-client.js';

/** One stored reading as a meter-tree leaf. */
export interface CollectedLeaf {
  seq: bigint;
  /** meterLeafHash of the rebuilt anchor; null when the stored values no longer encode as a reading. */
  leafHash: Uint8Array | null;
  readingHash: Uint8Array | null;
}

export type LeafVerdict =
  | { kind: 'matched'; seq: bigint }
  | { kind: 'tampered'; seq: bigint; ledger: Anchor; mine: CollectedLeaf }
  | { kind: 'missing'; seq: bigint; ledger: Anchor }
  | { kind: 'unanchored'; seq: bigint; mine: CollectedLeaf };

export interface MeterCompare {
  verdicts: LeafVerdict[];
  /** Readings proven matched in whole subtrees (not listed one by one in verdicts). */
  matchedInBulk: number;
  /** Requests this meter needed. */
  requests: number;
  /** The collector's leaves no ledger leaf covered, in seq order, in the range or not (another period's log may hold them). */
  uncovered: CollectedLeaf[];
}

const cmp = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

/** First index in sorted `leaves` with seq ≥ s. */
export function lowerBound(leaves: readonly CollectedLeaf[], s: bigint): number {
  let lo = 0;
  let hi = leaves.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (leaves[mid]!.seq < s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function rootOf(leaves: readonly CollectedLeaf[], from: number, to: number): Uint8Array | null {
  const hashes: Uint8Array[] = [];
  for (let i = from; i < to; i++) {
    const h = leaves[i]!.leafHash;
    if (h === null) return null; // a reading that cannot be encoded matches nothing
    hashes.push(h);
  }
  return rootOfLeaves(hashes);
}

/**
 * Compares the collector's leaves of one meter (sorted by seq, each seq once) with the ledger's meter
 * tree described by `proven` (an index leaf proven against a verified checkpoint). With `seqs`, only that
 * range of seqs is compared and reported: the walk skips children whose seq bounds lie outside it (a ledger
 * lying about bounds can hide its own anchors there, never a collector reading: uncovered ones are unanchored).
 * `wholeRoot` must be RFC 9162 §2.1.1 MTH of exactly `mine`'s leaf hashes (null if one is null).
 */
export async function compareMeter(
  meterId: string, mine: readonly CollectedLeaf[], proven: MeterIndexLeaf | undefined, client: LedgerClient, signal?: AbortSignal,
  seqs?: { from: bigint; to: bigint },
  /** MTH over all of `mine`, when the caller computed it with the leaves (rehash-core.ts): saves hashing it again here. */
  wholeRoot?: Uint8Array | null,
  /** A rotating ledger: the period whose log `proven` belongs to (its nodes are read under /period/<id>). */
  period?: string,
): Promise<MeterCompare> {
  const out: MeterCompare = { verdicts: [], matchedInBulk: 0, requests: 0, uncovered: [] };
  const covered = new Uint8Array(mine.length);
  const inRange = (s: bigint): boolean => seqs === undefined || (s >= seqs.from && s <= seqs.to);
  const countInRange = (from: number, to: number): number => {
    let n = 0;
    for (let i = from; i < to; i++) if (inRange(mine[i]!.seq)) n++;
    return n;
  };
  const size = proven?.treeSize ?? 0n;
  if (size > 0n && BigInt(mine.length) === size && bytesEqual((wholeRoot !== undefined ? wholeRoot : rootOf(mine, 0, mine.length)) ?? new Uint8Array(0), proven!.treeRoot)) {
    out.matchedInBulk = countInRange(0, mine.length); // the whole meter in one comparison, no request
    return out;
  }
  const bad = (message: string): never => {
    throw new CollectorError('LEDGER_PROOF_FAILED', `meter ${meterId}: ${message}`);
  };

  const compareLeaves = (ledger: Anchor[], lo: number, hi: number): void => {
    // the ledger's leaves of one node against the collector's readings the node's seq bounds select
    const bySeq = new Map<bigint, number>();
    for (let i = lo; i < hi; i++) bySeq.set(mine[i]!.seq, i);
    for (const a of ledger) {
      if (!inRange(a.seq)) continue;
      let i = bySeq.get(a.seq);
      if (i === undefined) {
        const j = lowerBound(mine, a.seq); // a leaf outside the claimed bounds (out-of-order ledger): look it up anyway
        if (j < mine.length && mine[j]!.seq === a.seq && covered[j] === 0) i = j;
      }
      if (i === undefined) {
        out.verdicts.push({ kind: 'missing', seq: a.seq, ledger: a });
        continue;
      }
      covered[i] = 1;
      const m = mine[i]!;
      if (m.leafHash !== null && bytesEqual(m.leafHash, meterLeafHash(a))) out.verdicts.push({ kind: 'matched', seq: a.seq });
      else out.verdicts.push({ kind: 'tampered', seq: a.seq, ledger: a, mine: m });
    }
  };

  const walk = async (start: bigint, end: bigint, hash: Uint8Array, lo: number, hi: number): Promise<void> => {
    signal?.throwIfAborted();
    out.requests++;
    const node = await client.meterNode(meterId, size, start, end, period);
    if ('leaves' in node) {
      if (BigInt(node.leaves.length) !== end - start || node.leaves.some((a) => a.meterId !== meterId)) bad(`node [${start}, ${end}) has ${node.leaves.length} leaves`);
      if (!bytesEqual(rootOfLeaves(node.leaves.map(meterLeafHash)), hash)) bad(`the leaves of node [${start}, ${end}) do not hash to the proven node`);
      return compareLeaves(node.leaves, lo, hi);
    }
    const [l, r] = node.children;
    if (end - start <= NODE_LEAVES_MAX || l.start !== start || l.end !== splitNode(start, end) || r.start !== l.end || r.end !== end) bad(`node [${start}, ${end}) split as [${l.start}, ${l.end}) [${r.start}, ${r.end})`);
    if (!bytesEqual(nodeHash(l.hash, r.hash), hash)) bad(`the children of node [${start}, ${end}) do not hash to the proven node`); // RFC 9162 §2.1.1
    if (cmp(l.firstSeq, l.lastSeq) > 0 || cmp(l.lastSeq, r.firstSeq) >= 0 || cmp(r.firstSeq, r.lastSeq) > 0) bad(`node [${start}, ${end}) names seq bounds out of order`);
    for (const c of [l, r]) {
      if (seqs !== undefined && (c.lastSeq < seqs.from || c.firstSeq > seqs.to)) continue; // outside the range asked for
      const from = Math.min(hi, Math.max(lo, lowerBound(mine, c.firstSeq)));
      const to = Math.max(from, Math.min(hi, lowerBound(mine, c.lastSeq + 1n)));
      const mineRoot = to - from === Number(c.end - c.start) ? rootOf(mine, from, to) : null;
      if (mineRoot !== null && bytesEqual(mineRoot, c.hash)) {
        covered.fill(1, from, to);
        out.matchedInBulk += countInRange(from, to);
      } else await walk(c.start, c.end, c.hash, from, to);
    }
  };

  if (size > 0n) await walk(0n, size, proven!.treeRoot, 0, mine.length);
  for (let i = 0; i < mine.length; i++) {
    if (covered[i] !== 0) continue;
    out.uncovered.push(mine[i]!);
    if (inRange(mine[i]!.seq)) out.verdicts.push({ kind: 'unanchored', seq: mine[i]!.seq, mine: mine[i]! });
  }
  return out;
}
