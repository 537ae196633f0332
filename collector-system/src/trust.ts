// The ledger keys the collector trusts (docs/protocol.md §8, §10): the Ed25519 key that signs identity
// certificates, and the note verifier key that signs checkpoints. Configured, never fetched from the ledger.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import {
  assertAcceptablePublicKey,
  bytesEqual,
  fromHex,
  nativePublicKey,
  parseVerifierKey,
  type NoteVerifier,
} from '@meterseal/protocol';
import type { TrustConfig } from './config.js';
import { CollectorError } from './errors.js';

export interface LedgerTrust {
  /** Checks identity certificates (the verifier key's public key when no separate one is configured). */
  certificateKey: Uint8Array;
  /** Checks checkpoints; null when only a bare public key is configured (then reconciliation is refused). */
  verifier: NoteVerifier | null;
}

/** File names in `ledgerKeyDir`: the public key as 64 hex digits (or 32 raw bytes), and the verifier key line. */
export const LEDGER_PUB_FILE = 'ledger.pub';
export const LEDGER_VKEY_FILE = 'ledger.vkey';

function parsePublicKey(text: string, where: string): Uint8Array {
  try {
    const key = fromHex(text.trim(), 32);
    assertAcceptablePublicKey(key);
    return key;
  } catch (cause) {
    throw new CollectorError('TRUST_INVALID', `${where} is not an acceptable Ed25519 public key in hex`, { cause });
  }
}

function parseVkey(text: string, where: string): NoteVerifier {
  try {
    return parseVerifierKey(text.trim());
  } catch (cause) {
    throw new CollectorError('TRUST_INVALID', `${where} is not a valid note verifier key`, { cause });
  }
}

function readPubFile(path: string): Uint8Array {
  const raw = readFileSync(path);
  if (raw.length === 32) {
    const key = new Uint8Array(raw);
    try {
      assertAcceptablePublicKey(key);
    } catch (cause) {
      throw new CollectorError('TRUST_INVALID', `${path} is not an acceptable Ed25519 public key`, { cause });
    }
    return key;
  }
  return parsePublicKey(raw.toString('utf8'), path);
}

/**
 * Resolves the configured trust. Explicit values win over files in ledgerKeyDir. Without a separate public
 * key, certificates are checked with the verifier key's public key (the ledger signs both with one key).
 */
export function loadTrust(trust: TrustConfig): LedgerTrust {
  let publicKey = trust.ledgerPublicKey === undefined ? null : parsePublicKey(trust.ledgerPublicKey, 'trust.ledgerPublicKey');
  let verifier = trust.ledgerVerifierKey === undefined ? null : parseVkey(trust.ledgerVerifierKey, 'trust.ledgerVerifierKey');
  if (trust.ledgerKeyDir !== undefined) {
    const pubPath = join(trust.ledgerKeyDir, LEDGER_PUB_FILE);
    const vkeyPath = join(trust.ledgerKeyDir, LEDGER_VKEY_FILE);
    if (publicKey === null && existsSync(pubPath)) publicKey = readPubFile(pubPath);
    if (verifier === null && existsSync(vkeyPath)) verifier = parseVkey(readFileSync(vkeyPath, 'utf8'), vkeyPath);
    if (publicKey === null && verifier === null) {
      throw new CollectorError('TRUST_MISSING', `neither ${LEDGER_PUB_FILE} nor ${LEDGER_VKEY_FILE} found in trust.ledgerKeyDir`);
    }
  }
  if (publicKey === null && verifier === null) {
    throw new CollectorError('TRUST_MISSING', 'configure trust.ledgerPublicKey, trust.ledgerVerifierKey or trust.ledgerKeyDir');
  }
  return { certificateKey: publicKey ?? verifier!.publicKey, verifier };
}

/** The certificate key prepared once for native verification. */
export function certificateKeyObject(trust: LedgerTrust): KeyObject {
  return nativePublicKey(trust.certificateKey);
}

/** The checkpoint verifier, or TRUST_MISSING: a bare public key has no note key name to check against. */
export function requireVerifier(trust: LedgerTrust): NoteVerifier {
  if (trust.verifier === null) {
    throw new CollectorError('TRUST_MISSING', 'reconciliation needs the ledger verifier key (trust.ledgerVerifierKey or ledger.vkey)');
  }
  return trust.verifier;
}

/** True when both keys are configured and they differ (logged as a notice: the ledger uses two keys). */
export function trustUsesTwoKeys(trust: LedgerTrust): boolean {
  return trust.verifier !== null && !bytesEqual(trust.certificateKey, trust.verifier.publicKey);
}
