// The server (secondary station) side of the IEC 62056-46 HDLC frame, written for the simulator on its own
// (the agent's client in device/src/dlms/hdlc is a separate implementation, so the two check each other):
//   7E | frame format (type 3, S bit, 11-bit length) | destination | source | control | HCS | info | FCS | 7E
// IEC 62056-46 §6.4.1 (frame format), §6.4.2 (addresses), §6.4.3 (control), §6.4.4.4.3.2 (SNRM/UA parameters).
import { SimulatorError } from '../errors.js';

export const FLAG = 0x7e;

// ISO/IEC 13239 FCS-16 (CRC-16/X-25: reflected 0x1021, init and final XOR 0xFFFF), low byte first on the wire.
const FCS_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x8408 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

export function fcs(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let c = 0xffff;
  for (let i = from; i < to; i++) c = (c >>> 8) ^ FCS_TABLE[(c ^ bytes[i]!) & 0xff]!;
  return (c ^ 0xffff) & 0xffff;
}

/** An HDLC address as the bytes on the wire (1, 2 or 4 bytes, LSB of the last byte set). */
export type WireAddress = Uint8Array;

/** Client address: one byte, SAP << 1 | 1 (IEC 62056-46 §6.4.2.1). */
export const clientWire = (sap: number): WireAddress => Uint8Array.of(((sap << 1) | 1) & 0xff);

/** Server address (IEC 62056-46 §6.4.2.2): upper = logical device, lower = physical device (0 = none). */
export function serverWire(upper: number, lower: number, size: 1 | 2 | 4): WireAddress {
  if (size === 1) return Uint8Array.of(((upper << 1) | 1) & 0xff);
  if (size === 2) return Uint8Array.of((upper << 1) & 0xfe, ((lower << 1) | 1) & 0xff);
  return Uint8Array.of((upper >> 6) & 0xfe, (upper << 1) & 0xfe, (lower >> 6) & 0xfe, ((lower << 1) | 1) & 0xff);
}

export interface Frame {
  segmented: boolean;
  destination: WireAddress;
  source: WireAddress;
  control: number;
  info: Uint8Array;
}

function address(b: Uint8Array, at: number, end: number): WireAddress {
  for (let i = at; i < end && i < at + 4; i++) {
    if (b[i]! & 1) {
      const n = i - at + 1;
      if (n === 3) throw new SimulatorError('HDLC', 'an HDLC address of 3 bytes');
      return b.slice(at, i + 1);
    }
  }
  throw new SimulatorError('HDLC', 'HDLC address without an end bit');
}

/** Parses one complete frame (flags included). Throws SimulatorError HDLC for anything malformed. */
export function parseFrame(b: Uint8Array): Frame {
  if (b.length < 9 || b[0] !== FLAG || b[b.length - 1] !== FLAG) throw new SimulatorError('HDLC', 'not a flagged HDLC frame');
  if ((b[1]! & 0xf0) !== 0xa0) throw new SimulatorError('HDLC', 'frame format type is not 3'); // §6.4.1.2
  const len = ((b[1]! & 0x07) << 8) | b[2]!;
  if (len !== b.length - 2) throw new SimulatorError('HDLC', `frame length ${len}, ${b.length - 2} bytes between the flags`);
  const end = b.length - 3; // FCS at end..end+1
  if (fcs(b, 1, end) !== (b[end]! | (b[end + 1]! << 8))) throw new SimulatorError('HDLC', 'FCS mismatch');
  const destination = address(b, 3, end);
  const source = address(b, 3 + destination.length, end);
  const c = 3 + destination.length + source.length;
  if (c >= end) throw new SimulatorError('HDLC', 'frame ends before the control field');
  const control = b[c]!;
  let info = new Uint8Array(0);
  if (c + 1 < end) {
    if (c + 3 > end) throw new SimulatorError('HDLC', 'HCS cut short');
    if (fcs(b, 1, c + 1) !== (b[c + 1]! | (b[c + 2]! << 8))) throw new SimulatorError('HDLC', 'HCS mismatch'); // §6.4.1.6
    info = b.slice(c + 3, end);
  }
  return { segmented: (b[1]! & 0x08) !== 0, destination, source, control, info };
}

export function encodeFrame(f: Frame): Uint8Array {
  const headLen = 2 + f.destination.length + f.source.length + 1;
  const total = 1 + headLen + (f.info.length ? 2 + f.info.length : 0) + 2 + 1;
  const len = total - 2;
  if (len > 0x7ff) throw new SimulatorError('HDLC', `frame of ${len} bytes exceeds the 11-bit length`);
  const b = new Uint8Array(total);
  b[0] = FLAG;
  b[1] = 0xa0 | (f.segmented ? 0x08 : 0) | (len >> 8);
  b[2] = len & 0xff;
  b.set(f.destination, 3);
  b.set(f.source, 3 + f.destination.length);
  let p = 1 + headLen;
  b[p - 1] = f.control;
  if (f.info.length) {
    const hcs = fcs(b, 1, p);
    b[p++] = hcs & 0xff;
    b[p++] = hcs >> 8;
    b.set(f.info, p);
    p += f.info.length;
  }
  const c = fcs(b, 1, p);
  b[p++] = c & 0xff;
  b[p++] = c >> 8;
  b[p] = FLAG;
  return b;
}

// Control field (IEC 62056-46 §6.4.3, ISO/IEC 13239): P/F is bit 4.
export const CONTROL = { SNRM: 0x83, DISC: 0x43, UA: 0x63, DM: 0x0f, FRMR: 0x87, RR: 0x01, RNR: 0x05 } as const;
export const PF = 0x10;
export const isI = (c: number): boolean => (c & 1) === 0;
export const ns = (c: number): number => (c >> 1) & 7;
export const nr = (c: number): number => (c >> 5) & 7;
export const iControl = (sendSeq: number, recvSeq: number): number => (recvSeq << 5) | PF | (sendSeq << 1);
export const rrControl = (recvSeq: number): number => (recvSeq << 5) | PF | CONTROL.RR;

/** Takes frames off a byte stream: resynchronises on flags, drops frames that do not parse. */
export class FrameReader {
  private buf = new Uint8Array(0);
  dropped = 0;
  discardedBytes = 0;

  push(chunk: Uint8Array): Frame[] {
    const merged = new Uint8Array(this.buf.length + chunk.length);
    merged.set(this.buf);
    merged.set(chunk, this.buf.length);
    this.buf = merged;
    const out: Frame[] = [];
    let i = 0;
    while (i < this.buf.length) {
      if (this.buf[i] !== FLAG) {
        i++;
        this.discardedBytes++;
        continue;
      }
      if (i + 3 > this.buf.length) break;
      if ((this.buf[i + 1]! & 0xf0) !== 0xa0) {
        i++; // a closing flag followed by the next opening flag, or garbage
        continue;
      }
      const total = (((this.buf[i + 1]! & 0x07) << 8) | this.buf[i + 2]!) + 2;
      if (i + total > this.buf.length) {
        // A false header (noise after a flag) must not hold back whole frames that already follow it.
        const later = this.laterFrame(i + 1);
        if (later < 0) break;
        this.dropped++;
        this.discardedBytes += later - i;
        i = later;
        continue;
      }
      try {
        out.push(parseFrame(this.buf.subarray(i, i + total)));
        i += total - 1; // the closing flag may open the next frame
      } catch {
        this.dropped++;
        i++;
      }
    }
    this.buf = this.buf.slice(i);
    if (this.buf.length > 4096) this.buf = new Uint8Array(0); // never buffer without bound
    return out;
  }

  /** The first flag at or after `from` that opens a complete, valid frame; -1 when none does. */
  private laterFrame(from: number): number {
    for (let j = this.buf.indexOf(FLAG, from); j >= 0 && j + 3 <= this.buf.length; j = this.buf.indexOf(FLAG, j + 1)) {
      const total = (((this.buf[j + 1]! & 0x07) << 8) | this.buf[j + 2]!) + 2;
      if ((this.buf[j + 1]! & 0xf0) !== 0xa0 || j + total > this.buf.length || this.buf[j + total - 1] !== FLAG) continue;
      try {
        parseFrame(this.buf.subarray(j, j + total));
        return j;
      } catch {
        // not a frame either
      }
    }
    return -1;
  }
}

/** SNRM/UA parameter negotiation field (IEC 62056-46 §6.4.4.4.3.2): 81 80 len { 05 tx 06 rx 07 win 08 win }. */
export function parseSnrmParameters(info: Uint8Array): { maxInfoTx: number; maxInfoRx: number } {
  const out = { maxInfoTx: 128, maxInfoRx: 128 }; // defaults when absent
  if (info.length === 0) return out;
  if (info[0] !== 0x81 || info[1] !== 0x80 || info[2] !== info.length - 3) throw new SimulatorError('HDLC', 'bad SNRM parameter field');
  for (let p = 3; p < info.length; ) {
    const id = info[p]!;
    const n = info[p + 1];
    if (n === undefined || n > 4 || p + 2 + n > info.length) throw new SimulatorError('HDLC', 'bad SNRM parameter');
    let v = 0;
    for (let k = 0; k < n; k++) v = v * 256 + info[p + 2 + k]!;
    if (id === 0x05) out.maxInfoTx = v;
    if (id === 0x06) out.maxInfoRx = v;
    p += 2 + n;
  }
  return out;
}

export function encodeUaParameters(maxInfoTx: number, maxInfoRx: number): Uint8Array {
  const u16 = (id: number, v: number) => (v > 0xff ? [id, 2, v >> 8, v & 0xff] : [id, 1, v]);
  const body = [...u16(0x05, maxInfoTx), ...u16(0x06, maxInfoRx), 0x07, 4, 0, 0, 0, 1, 0x08, 4, 0, 0, 0, 1];
  return Uint8Array.from([0x81, 0x80, body.length, ...body]);
}
