// The fault layer every simulated meter serves through (Modbus RTU, DL/T 645, DLMS/HDLC): a Duplex wrapped
// around the real transport that paces answers at the line's baud rate, drops or corrupts some of them,
// delays them, and goes silent while the meter "reboots". Protocol-agnostic: a server writes one answer frame
// per write() and reads requests from 'data', exactly as on the bare transport.
import { Duplex } from 'node:stream';
import { z } from 'zod';

export const faultsSchema = z.strictObject({
  /** Share of answers never sent (0..1): a lost frame, seen by the master as a timeout. */
  dropRate: z.number().min(0).max(1).default(0),
  /** Share of answers sent with one checksum byte flipped (CRC for Modbus, CS for DL/T 645, FCS for HDLC). */
  corruptRate: z.number().min(0).max(1).default(0),
  /** Extra delay before every answer, ms (the meter's processing time). */
  replyDelayMs: z.int().min(0).max(60_000).default(0),
  /** Reboot after every N answered requests (0 = never): silent for rebootDowntimeMs, then registers reset. */
  rebootEveryRequests: z.int().min(0).max(1e9).default(0),
  rebootDowntimeMs: z.int().min(0).max(600_000).default(1000),
  /** The meter's clock runs fast (> 0) or slow (< 0) by this many parts per million. */
  driftPpm: z.number().min(-1e6).max(1e6).default(0),
});
export type FaultsInput = z.input<typeof faultsSchema>;
export type Faults = z.output<typeof faultsSchema>;

export interface FaultyLineOptions {
  faults?: FaultsInput;
  /** Pace answers at this baud rate (a pty delivers bytes instantly; a real RS-485 line does not). */
  pace?: boolean;
  baudRate: number;
  /** Bits per character on the modelled line: 10 for 8N1, 11 for 8E1/8O1 (and 8N2). */
  bitsPerChar?: number;
  /** Which byte of an answer to flip for a corrupt-checksum fault; default the last (Modbus CRC high byte). */
  checksumIndex?: (frame: Uint8Array) => number;
  /** Seed of the fault dice, so a run is reproducible. */
  seed?: number;
}

export interface FaultyLineStats {
  answers: number;
  dropped: number;
  corrupted: number;
  /** Answers swallowed while the meter was rebooting. */
  mutedDuringReboot: number;
  reboots: number;
}

/** Bits per character: start + 8 data + parity + stop bits. */
export function lineBitsPerChar(parity: 'none' | 'even' | 'odd', stopBits: 1 | 2 = 1): number {
  return 1 + 8 + (parity === 'none' ? 0 : 1) + stopBits;
}

/** A mulberry32 PRNG: reproducible fault dice (also the fault-injection tests' seeded kill points). */
export function dice(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A clock that drifts by `ppm` from `base`, starting at base's now: what the meter shows as time. Restarting
 * (e.g. after a reboot) is a new call.
 */
export function driftingClock(base: () => number, ppm: number): () => number {
  if (ppm === 0) return base;
  const origin = base();
  return () => {
    const t = base();
    return Math.floor(origin + (t - origin) * (1 + ppm / 1e6));
  };
}

/**
 * Emits 'reboot' when the meter reboots (after rebootEveryRequests answers, or on reboot()); the server resets
 * its registers then. While rebooting, every answer is swallowed.
 */
export class FaultyLine extends Duplex {
  readonly faults: Faults;
  private readonly pace: boolean;
  private readonly charMs: number;
  private readonly checksumIndex: (frame: Uint8Array) => number;
  private readonly roll: () => number;
  private readonly counts: FaultyLineStats = { answers: 0, dropped: 0, corrupted: 0, mutedDuringReboot: 0, reboots: 0 };
  /** Virtual line time (performance.now ms) when the modelled line finishes carrying what was sent so far. */
  private lineBusyUntil = 0;
  private mutedUntil = 0;
  private sinceReboot = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly onInner: (chunk: Buffer) => void;

  constructor(private readonly inner: Duplex, options: FaultyLineOptions) {
    super();
    this.faults = faultsSchema.parse(options.faults ?? {});
    this.pace = options.pace ?? false;
    this.charMs = ((options.bitsPerChar ?? 10) * 1000) / options.baudRate;
    this.checksumIndex = options.checksumIndex ?? ((f) => f.length - 1);
    this.roll = dice(options.seed ?? 1);
    this.onInner = (chunk: Buffer) => {
      // The request occupies the modelled line for chunk.length characters from when it started.
      const now = performance.now();
      this.lineBusyUntil = Math.max(now, this.lineBusyUntil) + chunk.length * this.charMs;
      this.push(chunk);
    };
    inner.on('data', this.onInner);
    inner.on('error', (err: Error) => this.emit('error', err));
  }

  stats(): FaultyLineStats {
    return { ...this.counts };
  }

  get rebooting(): boolean {
    return performance.now() < this.mutedUntil;
  }

  /** Reboots now: silent for rebootDowntimeMs; listeners of 'reboot' reset the meter's registers. */
  reboot(): void {
    this.counts.reboots++;
    this.sinceReboot = 0;
    this.mutedUntil = performance.now() + this.faults.rebootDowntimeMs;
    this.emit('reboot');
  }

  override _read(): void {
    // data is pushed as the inner transport delivers it
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    callback(); // never hold up the server: answers leave in order through the chain
    const frame = new Uint8Array(chunk);
    if (this.rebooting) {
      this.counts.mutedDuringReboot++;
      return;
    }
    this.counts.answers++;
    this.sinceReboot++;
    const { dropRate, corruptRate, replyDelayMs, rebootEveryRequests } = this.faults;
    if (rebootEveryRequests > 0 && this.sinceReboot >= rebootEveryRequests) {
      this.reboot(); // this answer is the last before the reboot: sent, then silence
    }
    if (dropRate > 0 && this.roll() < dropRate) {
      this.counts.dropped++;
      return;
    }
    if (corruptRate > 0 && this.roll() < corruptRate) {
      const i = this.checksumIndex(frame);
      if (i >= 0 && i < frame.length) frame[i]! ^= 0x5a;
      this.counts.corrupted++;
    }
    const now = performance.now();
    let at = now + replyDelayMs;
    if (this.pace) {
      // Modbus over Serial Line V1.02 §2.5.1.1: the answer starts after the request and t3.5 of silence, and
      // reaches the master when its last character has been clocked out.
      const start = Math.max(now, this.lineBusyUntil + 3.5 * this.charMs) + replyDelayMs;
      at = start + frame.length * this.charMs;
      this.lineBusyUntil = at;
    }
    this.chain = this.chain.then(() => this.sendAt(frame, at));
  }

  /** Writes at `at` (performance.now ms): a timer for the bulk, event-loop turns for the last millisecond. */
  private sendAt(frame: Uint8Array, at: number): Promise<void> {
    return new Promise((resolve) => {
      const step = (): void => {
        if (this.destroyed) return resolve();
        const left = at - performance.now();
        if (left <= 0) {
          this.inner.write(Buffer.from(frame));
          resolve();
        } else if (left > 1.5) {
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            step();
          }, left - 1.5);
          this.timers.add(timer);
        } else setImmediate(step);
      };
      step();
    });
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.inner.off('data', this.onInner);
    callback(err);
  }
}
