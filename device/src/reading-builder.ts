// Turns one register scan into a signed reading: canonical encoding, salted hash, anchor signed with the
// session key (docs/protocol.md §3-4, §8).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  ClockSync, SALT_LENGTH, StatusFlag, encodeAnchor, encodeDelivery, encodeReading, encodeSigned, readingHash,
  signRecord, sortRegisters, type ClockSyncState, type Reading, type RegisterValue, type Unit,
} from '@meterseal/protocol';
import type { Session } from './enrol.js';

export interface Sample {
  obis: string;
  value: bigint;
  scaler: number;
  unit: string;
  raw: Uint8Array;
}

/** systemd-timesyncd marks a synchronised clock with this file; elsewhere the state is unknown. */
export function clockSyncState(): ClockSyncState {
  return existsSync('/run/systemd/timesync/synchronized') ? ClockSync.Synchronised : ClockSync.Unknown;
}

/** What the agent knows about one scan beside its samples. */
export interface ReadingContext {
  retried: boolean;
  meterTimeMs: bigint | null;
  /** The meter's identity as read from the meter (docs/protocol.md §3, v2), or null. */
  meterIdentity?: string | null;
  meterClockDeviationMin?: number | null;
  meterClockStatus?: number | null;
  /** StatusFlag bits the agent computed (plausibility, clock drift, clock set). */
  flags?: number;
  /** The agent's UTC clock when it took the reading; default now. */
  agentTimeMs?: bigint;
  clockSync?: ClockSyncState;
}

export function buildReading(meterId: string, seq: bigint, samples: Sample[], opts: ReadingContext): Reading {
  const registers: RegisterValue[] = samples.map((s) => ({ obis: s.obis, value: s.value, scaler: s.scaler, unit: s.unit as Unit, raw: s.raw }));
  let status = opts.flags ?? 0;
  if (opts.meterTimeMs === null) status |= StatusFlag.MeterTimeUnavailable;
  if (opts.retried) status |= StatusFlag.ReadRetried;
  return {
    meterId,
    seq,
    meterTimeMs: opts.meterTimeMs,
    meterIdentity: opts.meterIdentity ?? null,
    meterClockDeviationMin: opts.meterClockDeviationMin ?? null,
    meterClockStatus: opts.meterClockStatus ?? null,
    agentTimeMs: opts.agentTimeMs ?? BigInt(Date.now()), // explicit UTC epoch milliseconds
    clockSync: opts.clockSync ?? clockSyncState(),
    status,
    registers: sortRegisters(registers),
    salt: new Uint8Array(randomBytes(SALT_LENGTH)),
  };
}

/** The two payloads of one reading: interface 1 (anchor only) and interface 2 (the full reading). */
export function signReading(reading: Reading, session: Session): { anchor: Uint8Array; delivery: Uint8Array } {
  const bytes = encodeReading(reading);
  const anchor = encodeAnchor({ meterId: reading.meterId, seq: reading.seq, keyId: session.keyId, readingHash: readingHash(bytes) });
  const signature = signRecord(anchor, session.key.secretKey);
  return { anchor: encodeSigned(anchor, signature), delivery: encodeDelivery({ keyId: session.keyId, reading: bytes, signature }) };
}
