// Outstanding authentication challenges (docs/protocol.md §6): random 32-byte nonces with an expiry, each
// answerable once. Kept in memory: a restart forgets them and the meter simply asks again. Bounded, since
// anyone on the broker can ask for challenges for a registered meter.
import { randomBytes } from 'node:crypto';
import { NONCE_LENGTH, toHex } from '@meterseal/protocol';

/** At most this many outstanding challenges per meter; the oldest is dropped. */
export const MAX_CHALLENGES_PER_METER = 4;
/** At most this many outstanding challenges overall; the oldest is dropped. */
export const MAX_CHALLENGES = 100_000;

export interface Challenge {
  nonce: Uint8Array;
  expiresAtMs: number;
}

/** Why a nonce could not be used: the AuthResult reasons of docs/protocol.md §6. */
export type ConsumeResult = 'ok' | 'unknown-nonce' | 'expired-challenge';

interface Outstanding {
  meterId: string;
  expiresAtMs: number;
}

export class Challenges {
  /** nonce hex → challenge; Map order is issue order. */
  private readonly byNonce = new Map<string, Outstanding>();
  private readonly perMeter = new Map<string, string[]>();

  constructor(private readonly ttlMs: number) {}

  get size(): number {
    return this.byNonce.size;
  }

  issue(meterId: string, nowMs: number): Challenge {
    this.purge(nowMs);
    const nonce = new Uint8Array(randomBytes(NONCE_LENGTH));
    const key = toHex(nonce);
    const expiresAtMs = nowMs + this.ttlMs;
    const list = this.perMeter.get(meterId) ?? [];
    while (list.length >= MAX_CHALLENGES_PER_METER) this.byNonce.delete(list.shift()!);
    if (this.byNonce.size >= MAX_CHALLENGES) this.drop(this.byNonce.keys().next().value!);
    list.push(key);
    this.perMeter.set(meterId, list);
    this.byNonce.set(key, { meterId, expiresAtMs });
    return { nonce, expiresAtMs };
  }

  /** Uses up the nonce if it was issued to this meter; expired ones are used up too. */
  consume(meterId: string, nonce: Uint8Array, nowMs: number): ConsumeResult {
    const key = toHex(nonce);
    const c = this.byNonce.get(key);
    if (!c || c.meterId !== meterId) return 'unknown-nonce';
    this.drop(key);
    return nowMs > c.expiresAtMs ? 'expired-challenge' : 'ok';
  }

  private drop(key: string): void {
    const c = this.byNonce.get(key);
    if (!c) return;
    this.byNonce.delete(key);
    const list = this.perMeter.get(c.meterId);
    if (!list) return;
    const i = list.indexOf(key);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.perMeter.delete(c.meterId);
  }

  /**
   * Forgets challenges expired for longer than one more TTL: until then an answer to one is reported as
   * expired-challenge rather than unknown-nonce.
   */
  private purge(nowMs: number): void {
    for (const [key, c] of this.byNonce) {
      if (c.expiresAtMs + this.ttlMs >= nowMs) break; // issue order = expiry order (one TTL)
      this.drop(key);
    }
  }
}
