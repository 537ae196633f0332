// The collector as a witness of the ledger's log (issue 3 item 3, issue 6 item 3; docs/ledger.md §Witness).
// It accepts no connections: in each air-gap window it pulls the checkpoint, asks for a consistency proof
// from the last checkpoint it cosigned (RFC 9162 §2.1.4), verifies it, and cosigns locally with its own
// key (c2sp.org/tlog-cosignature, cosignature/v1). A smaller tree, a different root at the same size, a
// proof that does not verify, or a new origin is an ALARM — recorded, never cosigned, the state kept.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  bytesEqual, cosignatureSigner, encodeCosignatureVerifierKey, formatCheckpoint, generateKeyPair, toBase64, verifyConsistency,
  type Checkpoint, type CosignatureSigner,
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
}

export interface WitnessStateStore {
  witnessState(origin: string): WitnessState | undefined;
  /** Records a cosignature and makes it the state (one transaction). */
  saveCosignature(state: WitnessState): void;
}

export interface WitnessCheck {
  checkpoint: Checkpoint;
  signer: CosignatureSigner;
  store: WitnessStateStore;
  /** PROOF(from, D[0:to]) from the ledger (through the relay). */
  consistencyProof(from: bigint, to: bigint): Promise<Uint8Array[]>;
  now: Date;
}

export async function witnessCheckpoint(w: WitnessCheck): Promise<WitnessResult> {
  const c = w.checkpoint;
  const prev = w.store.witnessState(c.origin);
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
  const body = formatCheckpoint(c);
  const cosignature = w.signer.signCosignature(body, BigInt(Math.floor(w.now.getTime() / 1000))); // c2sp.org/tlog-cosignature: POSIX seconds
  w.store.saveCosignature({ origin: c.origin, size: c.size, root: c.root, body, cosignature, cosignedAt: w.now.toISOString() });
  return { status: prev ? 'cosigned' : 'first', ...(prev ? { previousSize: prev.size.toString() } : {}), cosignature: cosignature.trimEnd() };
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
