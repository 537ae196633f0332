// HDLC frame check sequence: the 16-bit FCS of ISO/IEC 13239 as used by IEC 62056-46 (CRC-16/X-25).
// The same function gives the HCS (over frame format, addresses and control) and the FCS (over the whole
// frame between the flags, HCS and information included) — IEC 62056-46 §6.4.1.6, §6.4.1.8.

// IEC 62056-46 Annex A (the table method of RFC 1662 Appendix C.2): generator x^16 + x^12 + x^5 + 1 (0x1021),
// bits processed least significant first, i.e. the reflected polynomial 0x8408.
const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x8408 : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-16/X-25 of bytes[start, end): init 0xFFFF, reflected, final XOR 0xFFFF (IEC 62056-46 Annex A). */
export function fcs16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffff; // IEC 62056-46 Annex A: register preset to all ones
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ TABLE[(crc ^ bytes[i]!) & 0xff]!;
  return (crc ^ 0xffff) & 0xffff; // ones' complement of the remainder is transmitted
}

/** Writes the check sequence of bytes[start, end) at bytes[end], bytes[end + 1]: low byte first. */
export function putFcs(bytes: Uint8Array, start: number, end: number): void {
  const crc = fcs16(bytes, start, end);
  bytes[end] = crc & 0xff; // IEC 62056-46 Annex A (RFC 1662 C.2): least significant octet first
  bytes[end + 1] = crc >>> 8;
}

/** True when bytes[end], bytes[end + 1] hold the check sequence of bytes[start, end). */
export function fcsOk(bytes: Uint8Array, start: number, end: number): boolean {
  if (end + 2 > bytes.length) return false;
  const crc = fcs16(bytes, start, end);
  return bytes[end] === (crc & 0xff) && bytes[end + 1] === crc >>> 8;
}
