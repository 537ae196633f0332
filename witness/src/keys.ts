// The witness's long-lived key in its data directory:
//   witness.key    the Ed25519 seed (RFC 8032 §5.1.5), 64 hex digits, mode 0600, made on first start
//   witness.vkey   its C2SP vkey `name+keyhash+base64(0x04||pub)` (c2sp.org/tlog-cosignature), for log clients
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { cosignatureSigner, encodeCosignatureVerifierKey, fromHex, toHex, type CosignatureSigner } from '@meterseal/protocol';
import { WitnessError } from './errors.js';

export const KEY_FILE = 'witness.key';
export const VKEY_FILE = 'witness.vkey';

export interface WitnessKey {
  signer: CosignatureSigner;
  publicKey: Uint8Array;
  /** The vkey log clients pin (also in <dataDir>/witness.vkey). */
  verifierKey: string;
}

export function keyFileExists(dataDir: string): boolean {
  return existsSync(join(dataDir, KEY_FILE));
}

/** Reads witness.key, or creates it (exclusively, mode 0600) if absent. */
export function loadOrCreateWitnessKey(dataDir: string, name: string, log?: Logger): WitnessKey {
  const path = join(dataDir, KEY_FILE);
  let secret: Uint8Array | undefined;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new WitnessError('KEY_FILE_INVALID', `cannot create ${path}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (fd !== undefined) {
    secret = new Uint8Array(randomBytes(32));
    try {
      writeSync(fd, `${toHex(secret)}\n`);
    } finally {
      closeSync(fd);
    }
    log?.info({ file: path }, 'created witness key');
  } else {
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) log?.warn({ file: path, mode: mode.toString(8) }, 'witness key is readable by group or others; chmod 600 it');
    const text = readFileSync(path, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/.test(text)) throw new WitnessError('KEY_FILE_INVALID', `${path} must hold exactly 64 lowercase hex digits`);
    secret = fromHex(text, 32);
  }
  const signer = cosignatureSigner(name, secret);
  return { signer, publicKey: signer.publicKey, verifierKey: encodeCosignatureVerifierKey(name, signer.publicKey) };
}

/** Writes witness.vkey atomically, only when its content changes. */
export function publishVerifierKey(dataDir: string, vkey: string): void {
  const path = join(dataDir, VKEY_FILE);
  const content = `${vkey}\n`;
  try {
    if (readFileSync(path, 'utf8') === content) return;
  } catch {
    // absent: write it
  }
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode: 0o644 });
  renameSync(tmp, path);
}
