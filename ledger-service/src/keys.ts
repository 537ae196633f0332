// The ledger's long-lived secrets in its data directory:
//   ledger.key     the Ed25519 seed (RFC 8032 §5.1.5), 64 hex digits, mode 0600, made on first start
//   ledger.pub     the public key, hex
//   ledger.vkey    the C2SP note verifier key `origin+keyhash+base64(0x01||pub)` (c2sp.org/signed-note)
//   account-salt   the secret salt of account commitments (docs/protocol.md §5), 64 hex digits, mode 0600
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { encodeVerifierKey, fromHex, noteSigner, publicKeyFromSecret, toHex, type NoteSigner } from '@meterseal/protocol';
import { LedgerError } from './errors.js';

export const KEY_FILE = 'ledger.key';
export const PUB_FILE = 'ledger.pub';
export const VKEY_FILE = 'ledger.vkey';
export const SALT_FILE = 'account-salt';

export interface LedgerKeys {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  /** C2SP verifier key of the checkpoint signer, named by the origin. */
  verifierKey: string;
  /** Signs checkpoints (C2SP signed note), named by the origin. */
  noteSigner: NoteSigner;
  /** Secret salt of accountCommitment(); never leaves the data directory. */
  accountSalt: Uint8Array;
}

/** Reads a 32-byte secret stored as hex, or creates it (exclusively, mode 0600) if absent. */
function loadOrCreateSecret(path: string, log?: Logger): Uint8Array {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new LedgerError('KEY_FILE_INVALID', `cannot create ${path}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (fd !== undefined) {
    const secret = new Uint8Array(randomBytes(32));
    try {
      writeSync(fd, `${toHex(secret)}\n`);
    } finally {
      closeSync(fd);
    }
    log?.info({ file: path }, 'created secret');
    return secret;
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) log?.warn({ file: path, mode: mode.toString(8) }, 'secret file is readable by group or others; chmod 600 it');
  const text = readFileSync(path, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(text)) throw new LedgerError('KEY_FILE_INVALID', `${path} must hold exactly 64 lowercase hex digits`);
  return fromHex(text, 32);
}

/** Writes a public file atomically, only when its content changes. */
function writePublic(path: string, content: string): void {
  try {
    if (readFileSync(path, 'utf8') === content) return;
  } catch {
    // absent: write it
  }
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode: 0o644 });
  renameSync(tmp, path);
}

/**
 * Loads the ledger key and account salt from `dataDir`, creating them on first start. Does not write
 * ledger.pub / ledger.vkey: call publishKeys once the data directory's log is known to match.
 */
export function loadOrCreateKeys(dataDir: string, origin: string, log?: Logger): LedgerKeys {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secretKey = loadOrCreateSecret(join(dataDir, KEY_FILE), log);
  const accountSalt = loadOrCreateSecret(join(dataDir, SALT_FILE), log);
  const publicKey = publicKeyFromSecret(secretKey);
  const verifierKey = encodeVerifierKey(origin, publicKey);
  return { secretKey, publicKey, verifierKey, noteSigner: noteSigner(origin, secretKey), accountSalt };
}

/** Writes <dataDir>/ledger.pub (hex) and <dataDir>/ledger.vkey (C2SP verifier key), the trust anchors others copy. */
export function publishKeys(dataDir: string, keys: Pick<LedgerKeys, 'publicKey' | 'verifierKey'>): void {
  writePublic(join(dataDir, PUB_FILE), `${toHex(keys.publicKey)}\n`);
  writePublic(join(dataDir, VKEY_FILE), `${keys.verifierKey}\n`);
}
