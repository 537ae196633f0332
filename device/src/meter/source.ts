// What the agent needs from any meter, whatever it speaks (Modbus RTU, DLMS/COSEM, DL/T 645-2007).
// Issue 4 items 6-7: each scan also carries the meter's own identity and clock, so the agent can sign them
// beside the registers and notice a swapped meter or a drifting clock.
import type { Sample } from '../reading-builder.js';

/** The meter's clock as the meter reported it. DLMS Clock (class 8) has deviation and status; others do not. */
export interface MeterClock {
  /** UTC epoch milliseconds. */
  timeMs: bigint;
  /** Minutes local time deviates from UTC as the meter reports it (DLMS clock deviation), or null. */
  deviationMin: number | null;
  /** The meter's clock status byte (DLMS clock_status: invalid, doubtful, daylight saving...), or null. */
  status: number | null;
}

/** One complete scan of the meter. */
export interface MeterSnapshot {
  samples: Sample[];
  /**
   * The meter's identity as read from the meter itself: DLMS 0.0.96.1.0.255 or logical device name,
   * the DL/T 645 address, or the serial-number register where a Modbus model has one; null when the model
   * has none.
   */
  meterIdentity: string | null;
  /** The meter's own clock, or null when it has none. */
  meterClock: MeterClock | null;
  /** How many retries the scan needed (0 when every request succeeded first time). */
  retries: number;
}

/** Anything that yields one scan of the meter. */
export interface MeterSource {
  open(): Promise<void>;
  read(): Promise<Sample[]>;
  close(): Promise<void>;
  /** Whether the last read needed a retry (sets the reading's ReadRetried status flag). */
  readonly lastReadRetried?: boolean;
  /**
   * A full scan with identity and clock. Sources that do not implement it yet are adapted by
   * snapshotOf() (identity and clock null).
   */
  snapshot?(): Promise<MeterSnapshot>;
  /**
   * Sets the meter's clock to a UTC instant (DLMS Clock class 8 method 1 / attribute 2, DL/T 645-2007 §7.7
   * broadcast time sync, a Modbus time register). Optional: the agent calls it only under an explicit
   * config policy (config clock.set) and records every setting (device/README.md, "Meter clock").
   */
  setClock?(timeMs: bigint): Promise<void>;
}

/** One scan from any source, falling back to read() for sources without snapshot(). */
export async function snapshotOf(source: MeterSource): Promise<MeterSnapshot> {
  if (source.snapshot) return source.snapshot();
  const samples = await source.read();
  return { samples, meterIdentity: null, meterClock: null, retries: source.lastReadRetried === true ? 1 : 0 };
}
