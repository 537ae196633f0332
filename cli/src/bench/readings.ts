// Bench readings shaped like the device's: every register of the shipped Chint DDSU666 profile (8 float32
// registers), sorted into OBIS order, a fresh salt each — what device/src/reading-builder.ts produces.
import { randomBytes } from 'node:crypto';
import { loadProfile } from '@meterseal/hardware';
import { ClockSync, SALT_LENGTH, sortRegisters, type Reading, type RegisterValue } from '@meterseal/protocol';

const PROFILE = 'chint-ddsu666';

export function benchReadings(meterId: string, count: number, firstSeq = 1n): Reading[] {
  const defs = loadProfile(PROFILE).registers;
  const t0 = BigInt(Date.UTC(2026, 10, 21, 12));
  const out: Reading[] = [];
  for (let i = 0; i < count; i++) {
    const seq = firstSeq + BigInt(i);
    const registers: RegisterValue[] = defs.map((d, j) => {
      const raw = new Uint8Array(4);
      new DataView(raw.buffer).setFloat32(0, 230.5 + j + i / 1000);
      return { obis: d.obis, value: BigInt(23_050 + 17 * j + i), scaler: d.scaler, unit: d.unit, raw };
    });
    out.push({
      meterId, seq, meterTimeMs: null, meterIdentity: null, meterClockDeviationMin: null, meterClockStatus: null, agentTimeMs: t0 + BigInt(i) * 1000n, clockSync: ClockSync.Synchronised, status: 1,
      registers: sortRegisters(registers), salt: new Uint8Array(randomBytes(SALT_LENGTH)),
    });
  }
  return out;
}
