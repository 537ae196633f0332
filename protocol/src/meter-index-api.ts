// The read-only HTTP answers about the per-meter index (docs/ledger.md §Queries), computed here so that the
// ledger and the collector's test ledger answer alike. Hashes travel as base64 (RFC 4648 §4), u64 values as
// decimal strings. Every answer is checkable: a node's children hash to the node (RFC 9162 §2.1.1), a node's
// leaves hash to it, a range comes with a range proof, an index leaf with its inclusion proof.
import type { Anchor } from './anchor.js';
import { fromBase64, fromHex, toBase64, toHex } from './bytes.js';
import { ProtocolError } from './errors.js';
import { inclusionProof } from './merkle/tree.js';
import { isNode, rangeProof, rootOfLeaves, splitNode } from './merkle/range.js';
import { meterLeafHash, type MeterIndexLeaf } from './meter-index.js';

/** A node this small (or smaller) is answered with its leaves rather than its children. */
export const NODE_LEAVES_MAX = 64n;
/** Most leaves in one /v1/meter/range answer. */
export const RANGE_LEAVES_MAX = 1024n;

export interface MeterTreeSource {
  /** The meter's anchors at positions start … start+count−1 of its tree (seq order). */
  meterLeaves(meterId: string, start: bigint, count: number): Anchor[];
}

export interface WireIndexLeaf {
  meterId: string;
  treeSize: string;
  treeRoot: string;
  keyEventsSize: string;
  keyEventsRoot: string;
}

export interface WireAnchor {
  seq: string;
  keyId: string;
  readingHash: string;
}

export interface WireChild {
  start: string;
  end: string;
  hash: string;
  /** Seqs of the child's first and last leaves (claims: only the hash is checked against the parent). */
  firstSeq: string;
  lastSeq: string;
}

export type MeterNodeAnswer = { leaves: WireAnchor[] } | { children: [WireChild, WireChild] };

export function wireIndexLeaf(l: MeterIndexLeaf): WireIndexLeaf {
  return {
    meterId: l.meterId,
    treeSize: l.treeSize.toString(10),
    treeRoot: toBase64(l.treeRoot),
    keyEventsSize: l.keyEventsSize.toString(10),
    keyEventsRoot: toBase64(l.keyEventsRoot),
  };
}

const DECIMAL = /^(0|[1-9][0-9]{0,19})$/;
function u64(v: unknown, what: string): bigint {
  if (typeof v !== 'string' || !DECIMAL.test(v) || BigInt(v) >= 1n << 64n) throw new ProtocolError('BAD_ANSWER', `${what} is not a decimal u64`);
  return BigInt(v);
}
function hash(v: unknown, what: string): Uint8Array {
  let h: Uint8Array | undefined;
  try {
    h = typeof v === 'string' && v.length === 44 ? fromBase64(v) : undefined;
  } catch (cause) {
    throw new ProtocolError('BAD_ANSWER', `${what} is not base64`, { cause });
  }
  if (h?.length !== 32) throw new ProtocolError('BAD_ANSWER', `${what} is not a base64 SHA-256 hash`);
  return h;
}
function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProtocolError('BAD_ANSWER', `${what} is not an object`);
  return v as Record<string, unknown>;
}

/** Parses a wire index leaf (hostile input): BAD_ANSWER naming the field. */
export function parseWireIndexLeaf(v: unknown): MeterIndexLeaf {
  const o = obj(v, 'index leaf');
  if (typeof o.meterId !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(o.meterId)) throw new ProtocolError('BAD_ANSWER', 'index leaf meterId is not a meter id');
  return {
    meterId: o.meterId,
    treeSize: u64(o.treeSize, 'index leaf treeSize'),
    treeRoot: hash(o.treeRoot, 'index leaf treeRoot'),
    keyEventsSize: u64(o.keyEventsSize, 'index leaf keyEventsSize'),
    keyEventsRoot: hash(o.keyEventsRoot, 'index leaf keyEventsRoot'),
  };
}

export function wireAnchor(a: Anchor): WireAnchor {
  return { seq: a.seq.toString(10), keyId: toHex(a.keyId), readingHash: toHex(a.readingHash) };
}

export function parseWireAnchor(v: unknown, meterId: string): Anchor {
  const o = obj(v, 'anchor');
  if (typeof o.keyId !== 'string' || !/^[0-9a-f]{16}$/.test(o.keyId)) throw new ProtocolError('BAD_ANSWER', 'anchor keyId is not 8 bytes of hex');
  if (typeof o.readingHash !== 'string' || !/^[0-9a-f]{64}$/.test(o.readingHash)) throw new ProtocolError('BAD_ANSWER', 'anchor readingHash is not 32 bytes of hex');
  return { meterId, seq: u64(o.seq, 'anchor seq'), keyId: fromHex(o.keyId, 8), readingHash: fromHex(o.readingHash, 32) };
}

export interface ParsedChild {
  start: bigint;
  end: bigint;
  hash: Uint8Array;
  firstSeq: bigint;
  lastSeq: bigint;
}

export function parseWireChild(v: unknown): ParsedChild {
  const o = obj(v, 'child');
  return { start: u64(o.start, 'child start'), end: u64(o.end, 'child end'), hash: hash(o.hash, 'child hash'), firstSeq: u64(o.firstSeq, 'child firstSeq'), lastSeq: u64(o.lastSeq, 'child lastSeq') };
}

function requireNode(start: bigint, end: bigint, size: bigint): void {
  if (!isNode(start, end, size)) throw new ProtocolError('MERKLE_RANGE', `[${start}, ${end}) is not a node of a tree of ${size} leaves`);
}

/** Node [start, end) of the meter's tree of `size` leaves: its leaves when small, else its two children. */
export function meterNodeAnswer(src: MeterTreeSource, meterId: string, size: bigint, start: bigint, end: bigint): MeterNodeAnswer {
  requireNode(start, end, size);
  const anchors = src.meterLeaves(meterId, start, Number(end - start));
  if (anchors.length !== Number(end - start)) throw new ProtocolError('MERKLE_RANGE', `meter ${meterId} has fewer than ${end} leaves`);
  if (end - start <= NODE_LEAVES_MAX) return { leaves: anchors.map(wireAnchor) };
  const mid = splitNode(start, end);
  const hashes = anchors.map(meterLeafHash);
  const m = Number(mid - start);
  const child = (lo: number, hi: number): WireChild => ({
    start: (start + BigInt(lo)).toString(10),
    end: (start + BigInt(hi)).toString(10),
    hash: toBase64(rootOfLeaves(hashes, lo, hi)), // RFC 9162 §2.1.1: MTH of the child's leaves
    firstSeq: anchors[lo]!.seq.toString(10),
    lastSeq: anchors[hi - 1]!.seq.toString(10),
  });
  return { children: [child(0, m), child(m, anchors.length)] };
}

/** Leaves [start, end) of the meter's tree of `size` leaves with a range proof (verifyRange) against its root. */
export function meterRangeAnswer(src: MeterTreeSource, meterId: string, size: bigint, start: bigint, end: bigint): { leaves: WireAnchor[]; proof: string[] } {
  if (start < 0n || end <= start || end > size) throw new ProtocolError('MERKLE_RANGE', `no range [${start}, ${end}) in a tree of ${size}`);
  if (end - start > RANGE_LEAVES_MAX) throw new ProtocolError('MERKLE_RANGE', `at most ${RANGE_LEAVES_MAX} leaves per range`);
  const anchors = src.meterLeaves(meterId, start, Number(end - start));
  // Nodes outside the range are hashed from their leaves: a meter's tree is small (docs/ledger.md §Sizing).
  const nodeRoot = (lo: bigint, hi: bigint): Uint8Array => rootOfLeaves(src.meterLeaves(meterId, lo, Number(hi - lo)).map(meterLeafHash));
  return { leaves: anchors.map(wireAnchor), proof: rangeProof(nodeRoot, start, end, size).map(toBase64) };
}

/** The inclusion proof (RFC 9162 §2.1.3.1) of index leaf `position` among `leafHashes`. */
export function indexInclusionProof(leafHashes: readonly Uint8Array[], position: number): Uint8Array[] {
  const reader = {
    getNode(level: number, index: bigint): Uint8Array {
      const width = 1 << level;
      return rootOfLeaves(leafHashes, Number(index) * width, Number(index) * width + width);
    },
  };
  return inclusionProof(reader, BigInt(position), BigInt(leafHashes.length));
}
