// The key-status section of a receipt (docs/protocol.md §10.5.1, protocol key-status.ts): the meter's key events
// up to the receipt's checkpoint, its index leaf and the leaf's inclusion path in the per-meter index that the
// checkpoint commits (meterseal-index/v1 line), and the revocation entries with their log inclusion proofs.
// The receipt's checkpoint is often older than the log (the newest one the witness quorum cosigned), so the index
// AT ITS SIZE is needed: the current index, with the leaves of the meters that entries after that size touched
// rebuilt from their anchors and key events below the size. The result is checked against the checkpoint's
// committed root before it is served; on any mismatch the section is left out (the verifier then reports key
// status as not proven) and a warning is logged.
import {
  INDEX_EXTENSION, MAX_KEY_EVENTS, MemoryTree, buildKeyStatus, inclusionProof, indexCommitment, indexLeafHash, keyEventsRoot,
  meterLeafHash, parseCheckpointText, parseNote, rootOfLeaves, bytesEqual, type KeyEvent, type KeyStatusWire, type MeterIndexLeaf,
} from '@meterseal/protocol';
import type { LedgerDeps } from './handlers/context.js';

export type KeyStatusDeps = Pick<LedgerDeps, 'store' | 'log'> & Partial<Pick<LedgerDeps, 'logger'>>;

const PAGE = 4096;
const METER_ID = /^[A-Za-z0-9._-]{1,64}$/;
const SIZES_KEPT = 4;
/** Index leaves at past checkpoint sizes, per log: receipts against one quorum checkpoint share them. */
const cache = new WeakMap<object, Map<bigint, IndexAt>>();

interface IndexAt {
  leaves: MeterIndexLeaf[];
  hashes: Uint8Array[];
  root: Uint8Array;
  /** Every node of the index tree, built on the first proof: then each proof is O(log n), not O(n). */
  tree?: MemoryTree;
}

/** The meter's key events in log order (as the store's index computes them: bindings and operator events). */
export function keyEventsOf(d: KeyStatusDeps, meterId: string): KeyEvent[] {
  const events: KeyEvent[] = [];
  let b = d.store.nextBinding(meterId, { firstSeq: 0n, leafIndex: -1n });
  for (let n = 0; b && n < 1_000_000; n++, b = d.store.nextBinding(meterId, b)) {
    events.push({ kind: 'binding', meterId, keyId: b.keyId, sessionPublicKey: b.sessionPublicKey, firstSeq: b.firstSeq, leafIndex: b.leafIndex });
  }
  for (const m of d.store.meterEvents(meterId)) {
    events.push({
      kind: 'operator', meterId, event: m.event, identityKeyId: m.identityKeyId, leafIndex: m.leafIndex,
      ...(m.newIdentityPublicKey ? { newIdentityPublicKey: m.newIdentityPublicKey } : {}),
    });
  }
  return events.sort((x, y) => (x.leafIndex < y.leafIndex ? -1 : x.leafIndex > y.leafIndex ? 1 : 0));
}

/** The meter's index leaf as it was when the log had `size` entries; undefined if the meter was not in the index yet. */
function leafAt(d: KeyStatusDeps, meterId: string, size: bigint): MeterIndexLeaf | undefined {
  const hashes: Uint8Array[] = [];
  for (let start = 0n; ; start += BigInt(PAGE)) {
    const page = d.store.meterLeaves(meterId, start, PAGE);
    for (const a of page) if (a.leafIndex < size) hashes.push(meterLeafHash(a)); // seq order kept: the meter tree at that size
    if (page.length < PAGE) break;
  }
  const events = keyEventsOf(d, meterId).filter((e) => e.leafIndex < size);
  const reg = d.store.getMeter(meterId);
  if (hashes.length === 0 && events.length === 0 && !(reg && reg.registrationIndex < size)) return undefined;
  return { meterId, treeSize: BigInt(hashes.length), treeRoot: rootOfLeaves(hashes), keyEventsSize: BigInt(events.length), keyEventsRoot: keyEventsRoot(events) };
}

/** Meter ids an entry may concern: a str8 id after type and version (offset 2), or after one more byte (offset 3). */
function meterIdsOf(entry: Uint8Array): string[] {
  const ids: string[] = [];
  for (const at of [2, 3]) {
    const n = entry[at];
    if (n === undefined || n === 0 || at + 1 + n > entry.length) continue;
    const s = Buffer.from(entry.subarray(at + 1, at + 1 + n)).toString('latin1');
    if (METER_ID.test(s)) ids.push(s);
  }
  return ids;
}

/** The per-meter index (leaves, leaf hashes, root) at log size `size` (≤ the current size). */
export function indexAt(d: KeyStatusDeps, size: bigint): IndexAt {
  let perLog = cache.get(d.log);
  const hit = perLog?.get(size);
  if (hit) return hit;
  if (!perLog) cache.set(d.log, (perLog = new Map()));
  const keep = (at: IndexAt): IndexAt => {
    perLog.set(size, at);
    if (perLog.size > SIZES_KEPT) perLog.delete(perLog.keys().next().value!);
    return at;
  };
  const now = d.log.index();
  if (now.size === size) return keep({ leaves: now.leaves, hashes: now.leafHashes, root: now.root });
  const touched = new Set<string>();
  for (let i = size; i < now.size; i += BigInt(PAGE)) {
    const n = now.size - i < BigInt(PAGE) ? Number(now.size - i) : PAGE;
    for (const e of d.store.getEntries(i, n)) for (const id of meterIdsOf(e)) touched.add(id);
  }
  const leaves: MeterIndexLeaf[] = [];
  for (const l of now.leaves) {
    const past = touched.has(l.meterId) ? leafAt(d, l.meterId, size) : l;
    if (past) leaves.push(past);
  }
  const hashes = leaves.map(indexLeafHash);
  return keep({ leaves, hashes, root: rootOfLeaves(hashes) }); // the order is the current index's: by meter id
}

/** What a key-status section needs of the index at a size: an IndexSnapshot, or an IndexAt rebuilt for an older size. */
interface IndexView {
  meters: number;
  root: Uint8Array;
  position(meterId: string): number;
  leaf(position: number): MeterIndexLeaf;
  /** RFC 9162 §2.1.3.1 PATH(position, index leaves). */
  proof(position: number): Uint8Array[];
}

/**
 * The index at `size`: the log's own snapshot when it made one at that size recently (O(log M) per receipt; the
 * usual case, a receipt against the newest quorum checkpoint), else rebuilt by indexAt (O(M) once per size).
 */
function indexViewAt(d: KeyStatusDeps, size: bigint): IndexView {
  const kept = d.log.keptIndex(size);
  if (kept) return kept;
  const at = indexAt(d, size);
  return {
    meters: at.leaves.length, root: at.root,
    position: (id) => at.leaves.findIndex((l) => l.meterId === id),
    leaf: (p) => at.leaves[p]!,
    proof: (p) => indexPath(at, p),
  };
}

/** RFC 9162 §2.1.3.1 inclusion path of index leaf `position`, from the cached tree of that index. */
function indexPath(at: IndexAt, position: number): Uint8Array[] {
  if (!at.tree) {
    const tree = new MemoryTree();
    for (const h of at.hashes) tree.append(h);
    at.tree = tree;
  }
  return inclusionProof(at.tree, BigInt(position), BigInt(at.hashes.length));
}

/** The key-status section for `meterId` against the checkpoint `note` of log size `size`, or undefined (logged). */
export function keyStatusFor(d: KeyStatusDeps, meterId: string, cp: { size: bigint; note: string }): KeyStatusWire | undefined {
  const skip = (why: string): undefined => {
    d.logger?.warn({ meterId, size: cp.size.toString(), why }, 'receipt served without its key-status section');
    return undefined;
  };
  if (!cp.note.includes(`\n${INDEX_EXTENSION} `)) return skip('the checkpoint commits no per-meter index');
  const committed = indexCommitment(parseCheckpointText(parseNote(cp.note).text));
  const at = indexViewAt(d, cp.size);
  // RFC 9162 §2.1.1: the index root at that size must be the one the checkpoint commits, or the proof is useless
  if (BigInt(at.meters) !== committed.meters || !bytesEqual(at.root, committed.root)) return skip('the index rebuilt at the checkpoint size does not match its meterseal-index/v1 line');
  const position = at.position(meterId);
  if (position < 0) return skip('the meter is not in the index at the checkpoint size');
  const leaf = at.leaf(position);
  const events = keyEventsOf(d, meterId).filter((e) => e.leafIndex < cp.size);
  if (BigInt(events.length) !== leaf.keyEventsSize || !bytesEqual(keyEventsRoot(events), leaf.keyEventsRoot)) return skip("the meter's key events do not match its index leaf");
  if (events.length > MAX_KEY_EVENTS) return skip(`more than ${MAX_KEY_EVENTS} key events`);
  const revocations = events.filter((e) => e.kind === 'operator' && e.event === 'revoked').map((e) => {
    const entry = d.log.entry(e.leafIndex);
    return entry && { entry, index: e.leafIndex, proof: d.log.inclusionProof(e.leafIndex, cp.size) }; // RFC 9162 §2.1.3.1
  }).filter((r) => r !== undefined);
  return buildKeyStatus({ indexLeaf: leaf, position: BigInt(position), indexPath: at.proof(position), checkpoint: cp.note, keyEvents: events, revocations });
}
