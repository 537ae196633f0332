// Verified session keys by (meter, keyId), prepared for native verification, with the seq range each covers.
import type { KeyObject } from 'node:crypto';
import { nativePublicKey, toHex } from '@meterseal/protocol';
import type { CollectorStore, SessionKeyRecord } from './store.js';

export interface UsableKey {
  record: SessionKeyRecord;
  native: KeyObject;
  /** The firstSeq of the meter's next binding, where this key stops covering readings (docs/protocol.md §7). */
  next: bigint | null;
}

/** Meters whose keys are kept in memory; beyond this the cache starts over (the store stays authoritative). */
const MAX_CACHED_METERS = 50_000;

export class SessionKeyCache {
  readonly #store: CollectorStore;
  readonly #byMeter = new Map<string, Map<string, UsableKey>>();

  constructor(store: CollectorStore) {
    this.#store = store;
  }

  async get(meterId: string, keyId: Uint8Array): Promise<UsableKey | null> {
    let keys = this.#byMeter.get(meterId);
    if (!keys || !keys.has(toHex(keyId))) {
      keys = await this.#load(meterId);
    }
    return keys.get(toHex(keyId)) ?? null;
  }

  /** Call after a key of this meter was stored: its neighbours' ranges change. */
  invalidate(meterId: string): void {
    this.#byMeter.delete(meterId);
  }

  async #load(meterId: string): Promise<Map<string, UsableKey>> {
    const records = await this.#store.sessionKeys(meterId); // ordered by firstSeq
    const keys = new Map<string, UsableKey>();
    for (const record of records) {
      const later = records.filter((r) => r.firstSeq > record.firstSeq).map((r) => r.firstSeq);
      const next = later.length === 0 ? null : later.reduce((a, b) => (b < a ? b : a));
      keys.set(toHex(record.keyId), { record, native: nativePublicKey(record.sessionPublicKey), next });
    }
    if (this.#byMeter.size >= MAX_CACHED_METERS) this.#byMeter.clear();
    this.#byMeter.set(meterId, keys);
    return keys;
  }
}
