// The collector as a witness of the ledger's log (issue 3 item 3, issue 6 item 3; docs/ledger.md §Witness).
// It accepts no connections: in each air-gap window it pulls the checkpoint, asks for a consistency proof
// from the last checkpoint it cosigned (RFC 9162 §2.1.4), verifies it, and cosigns locally with its own
// key (c2sp.org/tlog-cosignature, cosignature/v1). A smaller tree, a different root at the same size, a
// proof that does not verify, or a new origin is an ALARM — recorded, never cosigned, the state kept.
// A rotating ledger (docs/ledger.md §"Log rotation by period") changes origin every period: "<origin>/<period>".
// The witness follows the chain: a checkpoint of a newer period is cosigned only if the chain of links
// (protocol verifyPeriodChain) from the period it last cosigned ties it to that period's FINAL checkpoint, and
// that final checkpoint extends, by a consistency proof, what it last cosigned there; a checkpoint of an older
// period than the one last cosigned is an ALARM (PERIOD_REGRESSED), and so is a broken chain (CHAIN_BROKEN).
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  bytesEqual, cosignatureSigner, decodePreviousLog, encodeCosignatureVerifierKey, formatCheckpoint, generateKeyPair, openCheckpoint, periodOfOrigin,
  previousCheckpointOf, toBase64, verifyConsistency, verifyPeriodChain, type Checkpoint, type CosignatureSigner, type NoteVerifier, type PeriodLink,
} from '@meterseal/protocol';
import { describe } from './errors.js';
import type { WitnessResult } from './report.js';

/** The last checkpoint this collector cosigned (per origin). */
export interface WitnessState {
  origin: string;
  size: bigint;
  root: Uint8Array;
  /** The checkpoint body (c2sp.org/tlog-checkpoint text) and the cosignature line over it. */
  body: string;
  cosignature: string;
  /** ISO-8601 UTC. */
  cosignedAt: string;
  /** A rotating ledger: its name (the base origin); the state is then also the ledger's head, across periods. */
  ledger?: string;
}

export interface WitnessStateStore {
  witnessState(origin: string): WitnessState | undefined;
  /** Records a cosignature and makes it the state (one transaction); with `state.ledger`, also the ledger's head. */
  saveCosignature(state: WitnessState): void;
  /** The last checkpoint cosigned of any period of the rotating ledger `ledger` (a store without it cannot follow rotation). */
  witnessHead?(ledger: string): WitnessState | undefined;
}

/** What the witness asks a rotating ledger for (through the relay): chain links and proofs in a period's log. */
export interface WitnessLedger {
  /** The ledger's name: the pinned key's name, the base of its period origins. */
  base: string;
  verifier: NoteVerifier;
  periodLink(period: string): Promise<{ checkpoint: string; firstEntry?: Uint8Array; firstEntryProof?: Uint8Array[] }>;
  inclusionProof(index: bigint, size: bigint, period: string): Promise<Uint8Array[]>;
  consistencyProof(from: bigint, to: bigint, period: string): Promise<Uint8Array[]>;
}

export interface WitnessCheck {
  checkpoint: Checkpoint;
  signer: CosignatureSigner;
  store: WitnessStateStore;
  /** PROOF(from, D[0:to]) from the ledger (through the relay). */
  consistencyProof(from: bigint, to: bigint): Promise<Uint8Array[]>;
  now: Date;
  /** The checkpoint's signed note (needed to follow a rotating ledger's chain). */
  note?: string;
  /** A rotating ledger's period API; without it (or for an origin that is not "<base>/<period>") one log is witnessed. */
  ledger?: WitnessLedger;
}

/** Links are followed back at most this many periods (a witness that missed more needs an operator's look). */
export const MAX_PERIODS_BACK = 1000;

export async function witnessCheckpoint(w: WitnessCheck): Promise<WitnessResult> {
  const c = w.checkpoint;
  const period = w.ledger ? periodOfOrigin(w.ledger.base, c.origin) : undefined;
  let head = period !== undefined ? w.store.witnessHead?.(w.ledger!.base) : undefined;
  const prev = w.store.witnessState(c.origin);
  if (period !== undefined && !head && !prev) head = await previousCosigned(w, period); // a state from before heads were kept
  if (period !== undefined && head && head.origin !== c.origin) return followChain(w, period, head);
  const alarm = (code: NonNullable<WitnessResult['alarm']>['code'], message: string): WitnessResult => ({
    status: 'alarm', ...(prev ? { previousSize: prev.size.toString() } : {}), alarm: { code, message },
  });
  if (prev) {
    if (c.size < prev.size) return alarm('TREE_SHRANK', `the ledger's tree has ${c.size} entries, fewer than the ${prev.size} this collector cosigned`);
    if (c.size === prev.size && !bytesEqual(c.root, prev.root)) {
      return alarm('FORK', `two different roots for tree size ${c.size}: ${toBase64(prev.root)} cosigned before, ${toBase64(c.root)} now`);
    }
    if (c.size > prev.size) {
      let proof: Uint8Array[];
      try {
        proof = await w.consistencyProof(prev.size, c.size);
      } catch (err) {
        return alarm('INCONSISTENT', `no consistency proof from ${prev.size} to ${c.size}: ${describe(err)}`);
      }
      // RFC 9162 §2.1.4.2: the new tree must extend the cosigned one
      if (!verifyConsistency(prev.size, c.size, proof, prev.root, c.root)) {
        return alarm('INCONSISTENT', `the tree of size ${c.size} is not an extension of the cosigned tree of size ${prev.size} (consistency proof fails)`);
      }
    }
  }
  return { status: prev ? 'cosigned' : 'first', ...(prev ? { previousSize: prev.size.toString() } : {}), ...cosign(w, period), ...(period !== undefined ? { period } : {}) };
}

function cosign(w: WitnessCheck, period: string | undefined): { cosignature: string } {
  const c = w.checkpoint;
  const body = formatCheckpoint(c);
  const cosignature = w.signer.signCosignature(body, BigInt(Math.floor(w.now.getTime() / 1000))); // c2sp.org/tlog-cosignature: POSIX seconds
  w.store.saveCosignature({ origin: c.origin, size: c.size, root: c.root, body, cosignature, cosignedAt: w.now.toISOString(), ...(period !== undefined ? { ledger: w.ledger!.base } : {}) });
  return { cosignature: cosignature.trimEnd() };
}

/**
 * What this witness cosigned of the period that entry 0 of `period` names as the previous one (a state saved
 * before heads were kept); undefined for the ledger's first period, whose entry 0 is no PreviousLog.
 */
async function previousCosigned(w: WitnessCheck, period: string): Promise<WitnessState | undefined> {
  const link = await w.ledger!.periodLink(period); // a ledger that does not answer fails the run, it does not skip the check
  if (!link.firstEntry) return undefined;
  let previousOrigin: string;
  try {
    previousOrigin = previousCheckpointOf(decodePreviousLog(link.firstEntry)).origin;
  } catch {
    return undefined;
  }
  return w.store.witnessState(previousOrigin);
}

/** A checkpoint of another period than the last one cosigned (`head`): cosigned only if the chain ties it to `head`. */
async function followChain(w: WitnessCheck, period: string, head: WitnessState): Promise<WitnessResult> {
  const l = w.ledger!;
  const c = w.checkpoint;
  const headPeriod = periodOfOrigin(l.base, head.origin);
  const alarm = (code: NonNullable<WitnessResult['alarm']>['code'], message: string): WitnessResult => ({
    status: 'alarm', previousSize: head.size.toString(), period, ...(headPeriod ? { previousPeriod: headPeriod } : {}), alarm: { code, message },
  });
  if (headPeriod === undefined || period < headPeriod) {
    return alarm('PERIOD_REGRESSED', `a checkpoint of period ${period} after this collector cosigned one of ${headPeriod ?? head.origin}: a period never reopens`);
  }
  if (w.note === undefined) return alarm('CHAIN_BROKEN', `no signed note of the ${c.origin} checkpoint to follow the chain with`);
  // back from this period, link by link, to the one last cosigned (each entry 0 commits its predecessor's final checkpoint)
  const links: PeriodLink[] = [];
  let at = period;
  let note = w.note;
  let size = c.size;
  let final: Checkpoint | undefined;
  try {
    for (let n = 0; n < MAX_PERIODS_BACK; n++) {
      const link = await l.periodLink(at);
      if (!link.firstEntry) throw new Error(`period ${at} has no entry 0`);
      const proof = await l.inclusionProof(0n, size, at); // RFC 9162 §2.1.3: entry 0 in the very checkpoint chained
      links.unshift({ checkpoint: note, firstEntry: link.firstEntry, firstEntryProof: proof });
      const previous = decodePreviousLog(link.firstEntry);
      const prevCp = previousCheckpointOf(previous);
      const prevPeriod = periodOfOrigin(l.base, prevCp.origin);
      if (prevPeriod === undefined || !(prevPeriod < at)) throw new Error(`entry 0 of period ${at} commits ${prevCp.origin.slice(0, 300)}`);
      if (prevPeriod <= headPeriod) {
        if (prevPeriod !== headPeriod) throw new Error(`the chain skips period ${headPeriod}, which this collector cosigned`);
        links.unshift({ checkpoint: previous.checkpoint });
        final = openCheckpoint(previous.checkpoint, l.verifier);
        break;
      }
      at = prevPeriod;
      note = previous.checkpoint;
      size = prevCp.size;
    }
    if (!final) throw new Error(`more than ${MAX_PERIODS_BACK} periods back to ${headPeriod}`);
    verifyPeriodChain(links, { verifier: l.verifier, baseOrigin: l.base }); // signatures, order, entry 0 inclusion, exact commitments
  } catch (err) {
    return alarm('CHAIN_BROKEN', `period ${period} does not chain back to period ${headPeriod}, last cosigned: ${describe(err)}`);
  }
  // the final checkpoint of the period last cosigned must extend what was cosigned there (RFC 9162 §2.1.4.2)
  if (final.size < head.size) return alarm('TREE_SHRANK', `period ${headPeriod} closed at ${final.size} entries, fewer than the ${head.size} this collector cosigned`);
  if (final.size === head.size && !bytesEqual(final.root, head.root)) {
    return alarm('FORK', `period ${headPeriod} closed at size ${final.size} with root ${toBase64(final.root)}, not the ${toBase64(head.root)} cosigned`);
  }
  if (final.size > head.size) {
    let proof: Uint8Array[];
    try {
      proof = await l.consistencyProof(head.size, final.size, headPeriod);
    } catch (err) {
      return alarm('INCONSISTENT', `no consistency proof in period ${headPeriod} from ${head.size} to its final ${final.size}: ${describe(err)}`);
    }
    if (!verifyConsistency(head.size, final.size, proof, head.root, final.root)) {
      return alarm('INCONSISTENT', `the final checkpoint of period ${headPeriod} (size ${final.size}) does not extend the cosigned one of size ${head.size}`);
    }
  }
  const prev = w.store.witnessState(c.origin); // normally none: the first checkpoint of this period seen
  if (prev && (c.size < prev.size || (c.size === prev.size && !bytesEqual(c.root, prev.root)))) {
    return alarm('FORK', `period ${period}: the checkpoint of size ${c.size} contradicts the one of size ${prev.size} cosigned before`);
  }
  return { status: 'cosigned', previousSize: head.size.toString(), period, previousPeriod: headPeriod, ...cosign(w, period) };
}

/**
 * The collector's witness key: <path> holds the 32-byte Ed25519 seed as hex (mode 0600), made on first use.
 * Its verifier key (c2sp.org/signed-note vkey) is what the ledger's operators list as a witness.
 */
export function loadWitnessKey(path: string, name: string): { signer: CosignatureSigner; vkey: string } {
  let seed: Uint8Array;
  if (existsSync(path)) {
    seed = new Uint8Array(Buffer.from(readFileSync(path, 'utf8').trim(), 'hex'));
    if (seed.length !== 32) throw new Error(`${path} does not hold a 32-byte hex Ed25519 seed`);
  } else {
    seed = generateKeyPair().secretKey;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${Buffer.from(seed).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
  }
  const signer = cosignatureSigner(name, seed);
  return { signer, vkey: encodeCosignatureVerifierKey(name, signer.publicKey) };
}
