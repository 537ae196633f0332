// Native (OpenSSL) public keys prepared once per key: KeyObject creation costs more than a verification
// (protocol ed25519.ts). Bounded, least recently used first out.
import type { KeyObject } from 'node:crypto';
import { nativePublicKey, toHex } from '@meterseal/protocol';

export class KeyCache {
  private readonly keys = new Map<string, KeyObject>();

  constructor(private readonly capacity = 10_000) {}

  get size(): number {
    return this.keys.size;
  }

  /** The KeyObject of a 32-byte Ed25519 public key that already passed assertAcceptablePublicKey. */
  get(publicKey: Uint8Array): KeyObject {
    const id = toHex(publicKey);
    let k = this.keys.get(id);
    if (k) {
      this.keys.delete(id); // refresh: Map order is recency order
    } else {
      k = nativePublicKey(publicKey);
      if (this.keys.size >= this.capacity) this.keys.delete(this.keys.keys().next().value!);
    }
    this.keys.set(id, k);
    return k;
  }
}
