// Register bytes <-> integer values in a target unit and power-of-ten scaler.
// Wire layout: each 16-bit register is sent high byte first (Modbus Application Protocol V1.1b3 §4.2);
// a 32-bit value spans two registers whose order the protocol leaves to the device (def.wordOrder).
import { HardwareError } from './errors.js';
import { registerWords, type RegisterDef, type TargetUnit } from './schema.js';

export interface DecodedValue {
  /** value in `unit` = value × 10^scaler */
  value: bigint;
  scaler: number;
  unit: TargetUnit;
}

type CodecDef = Pick<RegisterDef, 'name' | 'type' | 'wordOrder' | 'sourceScaler' | 'scaler' | 'unit'>;

/** Copies raw wire bytes into big-endian ("ABCD") order so DataView can read them. */
function toBigEndian(def: CodecDef, raw: Uint8Array): Uint8Array {
  const expected = registerWords(def) * 2;
  if (raw.length !== expected) {
    throw new HardwareError('RAW_LENGTH', `${def.name}: ${def.type} needs ${expected} bytes, got ${raw.length}`);
  }
  const out = new Uint8Array(raw);
  if (expected === 4 && def.wordOrder === 'little') out.set([raw[2]!, raw[3]!, raw[0]!, raw[1]!]); // "CDAB"
  return out;
}

const TEN = 10n;

/** Integer × 10^exp, exact; for negative exp rounds half away from zero. */
function shiftDecimal(v: bigint, exp: number): bigint {
  if (exp >= 0) return v * TEN ** BigInt(exp);
  const d = TEN ** BigInt(-exp);
  const q = v / d;
  const r = v % d;
  if (2n * (r < 0n ? -r : r) >= d) return v < 0n ? q - 1n : q + 1n;
  return q;
}

/** Decodes one register's bytes exactly as read from the wire. */
export function decodeRegister(def: CodecDef, raw: Uint8Array): DecodedValue {
  const be = toBigEndian(def, raw);
  const view = new DataView(be.buffer, be.byteOffset, be.byteLength);
  const exp = def.sourceScaler - def.scaler; // integer = source × 10^exp
  let value: bigint;
  switch (def.type) {
    case 'float32': {
      const f = view.getFloat32(0, false); // IEEE 754 binary32
      if (!Number.isFinite(f)) {
        throw new HardwareError('INVALID_VALUE', `${def.name}: register holds ${f} (bytes ${hex(raw)})`);
      }
      // Multiplying or dividing by an exact power of ten keeps the error below half a unit in the last place.
      const x = exp >= 0 ? f * 10 ** exp : f / 10 ** -exp;
      const n = Math.sign(x) * Math.round(Math.abs(x)); // half away from zero
      if (!Number.isSafeInteger(n)) {
        throw new HardwareError('INVALID_VALUE', `${def.name}: ${f} does not fit a safe integer at scaler ${def.scaler}`);
      }
      value = BigInt(n);
      break;
    }
    case 'uint32':
      value = shiftDecimal(BigInt(view.getUint32(0, false)), exp);
      break;
    case 'int32':
      value = shiftDecimal(BigInt(view.getInt32(0, false)), exp);
      break;
    case 'uint16':
      value = shiftDecimal(BigInt(view.getUint16(0, false)), exp);
      break;
    case 'int16':
      value = shiftDecimal(BigInt(view.getInt16(0, false)), exp);
      break;
  }
  return { value, scaler: def.scaler, unit: def.unit };
}

const INT_RANGES: Record<Exclude<RegisterDef['type'], 'float32'>, [number, number]> = {
  uint16: [0, 0xffff],
  int16: [-0x8000, 0x7fff],
  uint32: [0, 0xffffffff],
  int32: [-0x80000000, 0x7fffffff],
};

/**
 * The inverse of decodeRegister, for simulators and tests: `physicalValue` is in the target unit
 * (W, Wh, V …); returns the register bytes as the meter would put them on the wire.
 */
export function encodeRegister(def: CodecDef, physicalValue: number): Uint8Array {
  if (!Number.isFinite(physicalValue)) {
    throw new HardwareError('INVALID_VALUE', `${def.name}: cannot encode ${physicalValue}`);
  }
  const s = def.sourceScaler;
  const source = s >= 0 ? physicalValue / 10 ** s : physicalValue * 10 ** -s;
  const be = new Uint8Array(registerWords(def) * 2);
  const view = new DataView(be.buffer);
  if (def.type === 'float32') {
    const f = Math.fround(source);
    if (!Number.isFinite(f)) throw new HardwareError('OUT_OF_RANGE', `${def.name}: ${physicalValue} overflows float32`);
    view.setFloat32(0, f, false);
  } else {
    const n = Math.sign(source) * Math.round(Math.abs(source));
    const [min, max] = INT_RANGES[def.type];
    if (n < min || n > max) {
      throw new HardwareError('OUT_OF_RANGE', `${def.name}: ${physicalValue} is outside ${def.type} after scaling`);
    }
    if (def.type === 'uint32') view.setUint32(0, n, false);
    else if (def.type === 'int32') view.setInt32(0, n, false);
    else if (def.type === 'uint16') view.setUint16(0, n, false);
    else view.setInt16(0, n, false);
  }
  if (be.length === 4 && def.wordOrder === 'little') return Uint8Array.of(be[2]!, be[3]!, be[0]!, be[1]!);
  return be;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}
