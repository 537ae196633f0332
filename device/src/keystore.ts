// The agent's keys on disk. The identity key is made on first start and never leaves the device
// (file mode 0600). A session key is made after each successful authentication.
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex, generateKeyPair, publicKeyFromSecret, toHex, type KeyPair } from '@meterseal/protocol';
import { AgentError } from './errors.js';

export function loadOrCreateKey(path: string): { key: KeyPair; created: boolean } {
  if (existsSync(path)) {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) throw new AgentError('KEY_PERMISSIONS', `${path} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
    const text = readFileSync(path, 'utf8').trim();
    let secretKey: Uint8Array;
    try {
      secretKey = fromHex(text, 32);
    } catch (cause) {
      throw new AgentError('BAD_KEY_FILE', `${path} does not hold a 32-byte hex Ed25519 seed`, { cause });
    }
    return { key: { secretKey, publicKey: publicKeyFromSecret(secretKey) }, created: false };
  }
  const key = generateKeyPair();
  writeSecret(path, toHex(key.secretKey) + '\n');
  return { key, created: true };
}

export function writeSecret(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(path, text, { mode: 0o600, flag: 'w' });
  chmodSync(path, 0o600);
}
