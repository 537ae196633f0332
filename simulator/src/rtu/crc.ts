// Modbus RTU CRC-16 (Modbus over Serial Line V1.02 §6.2.2): polynomial 0xA001 (0x8005 reflected),
// initial value 0xFFFF, no final XOR; sent low byte first (§2.5.1.2).

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1; // §6.2.2 shift right, XOR 0xA001 when LSB was 1
    t[i] = c;
  }
  return t;
})();

export const CRC_INIT = 0xffff;

/** Feeds one byte into a running CRC; lets a framer test every prefix length in one pass. */
export function crcStep(crc: number, byte: number): number {
  return (crc >>> 8) ^ TABLE[(crc ^ byte) & 0xff]!;
}

export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = CRC_INIT; // §6.2.2 step 1: preload 0xFFFF
  for (let i = start; i < end; i++) crc = crcStep(crc, bytes[i]!);
  return crc;
}

/** The frame with its CRC appended, low byte first (Modbus over Serial Line V1.02 §2.5.1.2). */
export function withCrc(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 2);
  out.set(body);
  const crc = crc16(body);
  out[body.length] = crc & 0xff;
  out[body.length + 1] = crc >>> 8;
  return out;
}

/** True when the last two bytes are the CRC of the rest. */
export function crcValid(frame: Uint8Array, start = 0, end = frame.length): boolean {
  if (end - start < 3) return false;
  const crc = crc16(frame, start, end - 2);
  return frame[end - 2] === (crc & 0xff) && frame[end - 1] === crc >>> 8;
}
