// The ledger's proven per-meter index, of its one log or of each of its period logs (docs/ledger.md
// §Reconciliation and §"Log rotation by period"). provenIndex: a checkpoint signed with the pinned key and the
// index leaves whose root it commits. loadPeriods: for a rotating ledger, every period log it lists, oldest
// first — each closed one at its final checkpoint (from the collector's cache of verified ledger data when it
// has it), the current one at the checkpoint being reconciled — and the chain that ties them
// (protocol verifyPeriodChain); a broken chain is an alarm, never a silent pass.
import {
  PREVIOUS_LOG_TYPE, ProtocolError, bytesEqual, countWitnesses, indexCommitment, indexRoot, openCheckpoint, periodOfOrigin, periodOrigin, toBase64,
  verifyPeriodChain, type Checkpoint, type CosignatureVerifier, type MeterIndexLeaf, type NoteVerifier, type PeriodLink,
} from '@meterseal/protocol';
import { CollectorError, describe } from './errors.js';
import type { LedgerClient } from './ledger-client.js';
import type { CachedPeriod, PeriodCache } from './reconcile-period-cache.js';
import type { ChainResult } from './report.js';

const INDEX_ATTEMPTS = 3;

export interface IndexOptions {
  verifier: NoteVerifier;
  witnesses?: { verifiers: CosignatureVerifier[]; quorum: number };
  signal?: AbortSignal;
}

export interface ProvenIndex {
  note: string;
  checkpoint: Checkpoint;
  leaves: MeterIndexLeaf[];
}

/** The checkpoint, verified, and the per-meter index leaves proven against the root it commits (of `period`'s log when given). */
export async function provenIndex(ledger: LedgerClient, o: IndexOptions, period?: string): Promise<ProvenIndex> {
  const where = period === undefined ? "the ledger's checkpoint" : `the checkpoint of period ${period}`;
  for (let attempt = 1; ; attempt++) {
    const first = await ledger.indexPage(0, undefined, period);
    let checkpoint: Checkpoint;
    try {
      checkpoint = openCheckpoint(first.checkpointNote, o.verifier); // c2sp.org/signed-note: signed by the pinned key, or refused
    } catch (cause) {
      throw new CollectorError('CHECKPOINT_INVALID', `${where} does not verify with the pinned key ${o.verifier.name}: ${describe(cause)}`, { cause });
    }
    if (period === undefined && o.witnesses && countWitnesses(first.checkpointNote, o.witnesses.verifiers) < o.witnesses.quorum) {
      throw new CollectorError('CHECKPOINT_INVALID', `the ledger's checkpoint carries fewer than ${o.witnesses.quorum} valid witness cosignatures`);
    }
    let commitment;
    try {
      commitment = indexCommitment(checkpoint);
    } catch (cause) {
      throw new CollectorError('CHECKPOINT_INVALID', `${where} commits no usable per-meter index: ${describe(cause)}`, { cause });
    }
    const leaves = [...first.leaves];
    let moved = first.treeSize !== checkpoint.size;
    while (!moved && leaves.length < first.meters) {
      o.signal?.throwIfAborted();
      const page = await ledger.indexPage(leaves.length, undefined, period);
      if (page.start !== leaves.length || page.leaves.length === 0) throw new CollectorError('LEDGER_BAD_RESPONSE', `the ledger's index page from ${leaves.length} starts at ${page.start} with ${page.leaves.length} leaves`);
      moved = page.treeSize !== checkpoint.size;
      leaves.push(...page.leaves);
    }
    if (moved) {
      if (attempt >= INDEX_ATTEMPTS) throw new CollectorError('INDEX_MOVED', `the ledger's checkpoint moved while its index was read, ${attempt} times`);
      continue;
    }
    proveLeaves(leaves, checkpoint);
    return { note: first.checkpointNote, checkpoint, leaves };
  }
}

/** The leaves hash to the index root the (verified) checkpoint commits, or LEDGER_PROOF_FAILED. */
export function proveLeaves(leaves: readonly MeterIndexLeaf[], checkpoint: Checkpoint): void {
  const commitment = indexCommitment(checkpoint);
  if (BigInt(leaves.length) !== commitment.meters) throw new CollectorError('LEDGER_PROOF_FAILED', `the ledger served ${leaves.length} index leaves; its checkpoint commits ${commitment.meters}`);
  let root: Uint8Array;
  try {
    root = indexRoot(leaves);
  } catch (cause) {
    throw new CollectorError('LEDGER_PROOF_FAILED', `the ledger's index leaves are not sorted by meter id: ${describe(cause)}`, { cause });
  }
  if (!bytesEqual(root, commitment.root)) {
    throw new CollectorError('LEDGER_PROOF_FAILED', `the ledger's index leaves hash to ${toBase64(root)}, not the ${toBase64(commitment.root)} its checkpoint at size ${checkpoint.size} commits`);
  }
}

/** One period log as reconciled: its checkpoint and its proven index leaves by meter id. */
export interface PeriodLog {
  period: string;
  origin: string;
  closed: boolean;
  checkpoint: Checkpoint;
  leaves: Map<string, MeterIndexLeaf>;
  /** Checkpoint, link and index from the cache: no request. */
  cached: boolean;
}

export interface PeriodPlan {
  /** Oldest first; the last is the current period. */
  logs: PeriodLog[];
  chain: ChainResult;
}

const broken = (periods: string[], code: string, message: string): ChainResult => ({ status: 'alarm', periods, alarm: { code, message } });

/**
 * Every period log of a rotating ledger (`base` = the pinned key's name, the ledger's origin), given the current
 * period's proven index. Closed periods come from `cache` when it holds them with the final checkpoint the ledger
 * lists now; otherwise their link and index are fetched, proven against the final checkpoint, and cached.
 */
export async function loadPeriods(ledger: LedgerClient, o: IndexOptions & { cache?: PeriodCache }, base: string, current: ProvenIndex): Promise<PeriodPlan> {
  const currentPeriod = periodOfOrigin(base, current.checkpoint.origin)!;
  const listed = await ledger.periods();
  if (listed.current !== currentPeriod) {
    throw new CollectorError('INDEX_MOVED', `the ledger rotated to period ${listed.current} while period ${currentPeriod} was being read; run again`);
  }
  const names = listed.periods.map((p) => p.period);
  const logs: PeriodLog[] = [];
  const links: PeriodLink[] = [];
  const pending: CachedPeriod[] = [];
  for (const [i, p] of listed.periods.entries()) {
    o.signal?.throwIfAborted();
    const last = i === listed.periods.length - 1;
    if (p.origin !== periodOrigin(base, p.period) || (i > 0 && !(names[i - 1]! < p.period)) || last !== (p.period === currentPeriod) || p.closed === last) {
      return { logs: [], chain: broken(names, 'CHAIN_LISTING', `the ledger's /periods list is not ${base}/<period> logs, oldest first, all closed but the current ${currentPeriod} (at ${p.period})`) };
    }
    if (last) {
      const link = await ledger.periodLink(p.period); // entry 0; its proof against the checkpoint being reconciled
      const proof = link.firstEntry && current.checkpoint.size > 0n ? await ledger.inclusionProof(0n, current.checkpoint.size, p.period) : undefined;
      links.push({ checkpoint: current.note, ...(link.firstEntry && proof ? { firstEntry: link.firstEntry, firstEntryProof: proof } : {}) });
      logs.push({ period: p.period, origin: p.origin, closed: false, checkpoint: current.checkpoint, leaves: new Map(current.leaves.map((l) => [l.meterId, l])), cached: false });
      continue;
    }
    if (p.finalCheckpoint === undefined) return { logs: [], chain: broken(names, 'CHAIN_NO_LINK', `closed period ${p.period} is listed without its final checkpoint`) };
    const hit = o.cache?.get(p.origin);
    if (hit && hit.finalCheckpoint !== p.finalCheckpoint) {
      return { logs: [], chain: broken(names, 'CHAIN_REWRITTEN', `the final checkpoint of closed period ${p.period} is not the one the ledger listed before: a closed period never changes`) };
    }
    let final: Checkpoint;
    try {
      final = openCheckpoint(p.finalCheckpoint, o.verifier);
    } catch (cause) {
      return { logs: [], chain: broken(names, 'CHAIN_BAD_SIGNATURE', `the final checkpoint of period ${p.period} does not verify with ${o.verifier.name}: ${describe(cause)}`) };
    }
    if (hit) {
      links.push({ checkpoint: hit.finalCheckpoint, ...(hit.firstEntry && hit.firstEntryProof ? { firstEntry: hit.firstEntry, firstEntryProof: hit.firstEntryProof } : {}) });
      logs.push({ period: p.period, origin: p.origin, closed: true, checkpoint: final, leaves: new Map(hit.leaves.map((l) => [l.meterId, l])), cached: true });
      continue;
    }
    const link = await ledger.periodLink(p.period);
    const index = await provenIndex(ledger, o, p.period);
    for (const [what, note] of [['link', link.checkpoint], ['index', index.note]] as const) {
      const cp = openCheckpoint(note, o.verifier);
      if (cp.origin !== final.origin || cp.size !== final.size || !bytesEqual(cp.root, final.root)) {
        return { logs: [], chain: broken(names, 'CHAIN_MISMATCH', `closed period ${p.period}: the ${what} is against ${cp.origin} size ${cp.size}, not the final checkpoint (size ${final.size})`) };
      }
    }
    links.push({ checkpoint: p.finalCheckpoint, ...(link.firstEntry && link.firstEntryProof ? { firstEntry: link.firstEntry, firstEntryProof: link.firstEntryProof } : {}) });
    logs.push({ period: p.period, origin: p.origin, closed: true, checkpoint: final, leaves: new Map(index.leaves.map((l) => [l.meterId, l])), cached: false });
    pending.push({ period: p.period, origin: p.origin, finalCheckpoint: p.finalCheckpoint, ...(link.firstEntry && link.firstEntryProof ? { firstEntry: link.firstEntry, firstEntryProof: link.firstEntryProof } : {}), leaves: index.leaves });
  }
  const vanished = (o.cache?.origins() ?? []).filter((origin) => periodOfOrigin(base, origin) !== undefined && !listed.periods.some((p) => p.origin === origin));
  if (vanished.length > 0) return { logs: [], chain: broken(names, 'CHAIN_PERIOD_VANISHED', `closed period(s) ${vanished.join(', ')} verified before are no longer listed`) };
  try {
    verifyPeriodChain(links, { verifier: o.verifier, baseOrigin: base }); // docs/ledger.md "How an auditor follows the chain"
  } catch (err) {
    if (err instanceof ProtocolError) return { logs, chain: broken(names, err.code, err.message) };
    throw err;
  }
  if (links[0]?.firstEntry?.[0] === PREVIOUS_LOG_TYPE) {
    // the oldest log listed opens with a PreviousLog: an older period exists that the ledger no longer lists
    return { logs, chain: broken(names, 'CHAIN_TRUNCATED', `the oldest period listed, ${names[0]}, continues an older log the ledger does not list`) };
  }
  for (const c of pending) o.cache?.put(c); // only a verified chain's periods are cached
  return { logs, chain: { status: 'verified', periods: names } };
}
