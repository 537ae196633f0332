// The worked example of docs/protocol.md §11 (reading record v2), built from fixed inputs so that anyone can reproduce it.
// protocol/test-vectors/meterseal/worked-example.json freezes its bytes; the test checks both agree.
import { sha256 } from './hash.js';
import { utf8 } from './bytes.js';
import { keyId, publicKeyFromSecret } from './ed25519.js';
import { ClockSync, StatusFlag, encodeReading, readingHash, type Reading } from './reading.js';
import { encodeAnchor } from './anchor.js';
import { signRecord, signingMessage } from './signed.js';
import { encodeDelivery } from './delivery.js';

export function workedExample() {
  const sessionSecret = sha256(utf8.encode('MeterSeal worked example session key'));
  const sessionPublic = publicKeyFromSecret(sessionSecret);
  const kid = keyId(sessionPublic);
  const reading: Reading = {
    meterId: 'DDSU666-000042',
    seq: 7n,
    meterTimeMs: null,
    // v2: the serial number the meter itself reports (the DDSU666 has no clock, so no clock detail)
    meterIdentity: '24110042',
    meterClockDeviationMin: null,
    meterClockStatus: null,
    agentTimeMs: BigInt(Date.UTC(2026, 10, 21, 12, 0, 0)),
    clockSync: ClockSync.Synchronised,
    status: StatusFlag.MeterTimeUnavailable,
    registers: [
      // active energy import: float32 12.345 kWh on the wire (0x414585 1F) → 12345 Wh
      { obis: '1.0.1.8.0.255', value: 12345n, scaler: 0, unit: 'Wh', raw: new Uint8Array([0x41, 0x45, 0x85, 0x1f]) },
      // voltage L1: float32 230.5 V (0x43668000) → 23050 × 10^-2 V
      { obis: '1.0.32.7.0.255', value: 23050n, scaler: -2, unit: 'V', raw: new Uint8Array([0x43, 0x66, 0x80, 0x00]) },
    ],
    salt: Uint8Array.from({ length: 16 }, (_, i) => i),
  };
  const readingBytes = encodeReading(reading);
  const hash = readingHash(readingBytes);
  const anchorBytes = encodeAnchor({ meterId: reading.meterId, seq: reading.seq, keyId: kid, readingHash: hash });
  const signature = signRecord(anchorBytes, sessionSecret);
  return {
    sessionSecret,
    sessionPublic,
    keyId: kid,
    reading,
    readingBytes,
    readingHash: hash,
    anchorBytes,
    signingMessage: signingMessage(anchorBytes),
    signature,
    delivery: encodeDelivery({ keyId: kid, reading: readingBytes, signature }),
  };
}
