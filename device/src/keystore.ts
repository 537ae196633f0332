// The agent's keys on disk. The identity key is made on first start and never leaves the device
// (file mode 0600; a file readable by group or others is refused). With a passphrase the file holds the
// seed encrypted: scrypt (RFC 7914; N=2^15, r=8, p=1) derives a 256-bit key, AES-256-GCM (NIST SP 800-38D,
// 96-bit IV, 128-bit tag) encrypts the 32-byte seed. A plain file is encrypted in place the first time a
// passphrase is given. A session key is made after each successful authentication and is never stored.
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { fromHex, generateKeyPair, publicKeyFromSecret, toHex, type KeyPair } from '@meterseal/protocol';
import { AgentError } from './errors.js';

export interface KeyFileOptions {
  /** Encrypts the identity key at rest (scrypt + AES-256-GCM). */
  passphrase?: string;
}

const AAD = new TextEncoder().encode('meterseal-identity-key-v1');
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

const EncryptedKeyFile = z.strictObject({
  v: z.literal(1),
  kdf: z.literal('scrypt'),
  N: z.number().int().min(1 << 14).max(1 << 20), // bounded: a hostile file cannot ask for gigabytes
  r: z.number().int().min(1).max(16),
  p: z.number().int().min(1).max(4),
  salt: z.string().regex(/^[0-9a-f]{32}$/),
  iv: z.string().regex(/^[0-9a-f]{24}$/),
  ct: z.string().regex(/^[0-9a-f]{64}$/),
  tag: z.string().regex(/^[0-9a-f]{32}$/),
});

function deriveKey(passphrase: string, salt: Uint8Array, p: { N: number; r: number; p: number }): Buffer {
  return scryptSync(passphrase.normalize('NFC'), salt, 32, { N: p.N, r: p.r, p: p.p, maxmem: SCRYPT.maxmem }); // RFC 7914 §2
}

export function encryptSeed(seed: Uint8Array, passphrase: string): string {
  if (passphrase.length === 0) throw new AgentError('BAD_PASSPHRASE', 'an empty passphrase encrypts nothing');
  const salt = randomBytes(16);
  const iv = randomBytes(12); // SP 800-38D §8.2: a 96-bit IV, random, never reused with this key (fresh salt ⇒ fresh key)
  const cipher = createCipheriv('aes-256-gcm', deriveKey(passphrase, salt, SCRYPT), iv);
  cipher.setAAD(AAD);
  const ct = Buffer.concat([cipher.update(seed), cipher.final()]);
  return JSON.stringify({ v: 1, kdf: 'scrypt', N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, salt: toHex(salt), iv: toHex(iv), ct: toHex(ct), tag: toHex(cipher.getAuthTag()) }) + '\n';
}

export function decryptSeed(text: string, passphrase: string, path = 'key file'): Uint8Array {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new AgentError('BAD_KEY_FILE', `${path} is neither a hex seed nor an encrypted key`, { cause });
  }
  const r = EncryptedKeyFile.safeParse(json);
  if (!r.success) throw new AgentError('BAD_KEY_FILE', `${path}: encrypted key file is malformed (${r.error.issues[0]?.path.join('.') ?? '?'})`);
  const f = r.data;
  const decipher = createDecipheriv('aes-256-gcm', deriveKey(passphrase, fromHex(f.salt), f), fromHex(f.iv));
  decipher.setAAD(AAD);
  decipher.setAuthTag(fromHex(f.tag));
  try {
    return new Uint8Array(Buffer.concat([decipher.update(fromHex(f.ct)), decipher.final()]));
  } catch (cause) {
    throw new AgentError('BAD_PASSPHRASE', `${path}: wrong passphrase or a modified key file`, { cause });
  }
}

export function loadOrCreateKey(path: string, opts: KeyFileOptions = {}): { key: KeyPair; created: boolean } {
  if (existsSync(path)) {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) throw new AgentError('KEY_PERMISSIONS', `${path} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
    const text = readFileSync(path, 'utf8').trim();
    let secretKey: Uint8Array;
    if (text.startsWith('{')) {
      if (opts.passphrase === undefined) throw new AgentError('KEY_ENCRYPTED', `${path} is encrypted: configure the key passphrase`);
      secretKey = decryptSeed(text, opts.passphrase, path);
    } else {
      try {
        secretKey = fromHex(text, 32);
      } catch (cause) {
        throw new AgentError('BAD_KEY_FILE', `${path} does not hold a 32-byte hex Ed25519 seed`, { cause });
      }
      if (opts.passphrase !== undefined) writeSecretAtomic(path, encryptSeed(secretKey, opts.passphrase)); // encrypt in place
    }
    return { key: { secretKey, publicKey: publicKeyFromSecret(secretKey) }, created: false };
  }
  const key = generateKeyPair();
  writeSecretAtomic(path, opts.passphrase !== undefined ? encryptSeed(key.secretKey, opts.passphrase) : toHex(key.secretKey) + '\n');
  return { key, created: true };
}

export function writeSecret(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(path, text, { mode: 0o600, flag: 'w' });
  chmodSync(path, 0o600);
}

/** writeSecret through a temporary file and rename: a power cut leaves the old key or the new one. */
function writeSecretAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  writeSecret(tmp, text);
  renameSync(tmp, path);
}

/** The key options from the agent config: the passphrase is read from `keyPassphraseFile` (0600 or stricter). */
export function keyFileOptions(config: { keyPassphraseFile?: string }): KeyFileOptions {
  const f = config.keyPassphraseFile;
  if (f === undefined) return {};
  let mode: number;
  try {
    mode = statSync(f).mode & 0o777;
  } catch (cause) {
    throw new AgentError('BAD_PASSPHRASE', `key passphrase file ${f}: ${(cause as Error).message}`, { cause });
  }
  if (mode & 0o077) throw new AgentError('KEY_PERMISSIONS', `${f} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
  return { passphrase: readFileSync(f, 'utf8').replace(/\r?\n$/, '') };
}
