// The MAC frame of IEC 62056-46 §6.4.1: HDLC frame format type 3 (ISO/IEC 13239 Annex H.4).
//   Flag | Frame format (2) | Dest. address (1,2,4) | Src. address (1,2,4) | Control | HCS (2) | Information | FCS (2) | Flag
// No byte stuffing is used on the asynchronous line: the frame ends where the length sub-field says.
import { addressLength, decodeAddress, encodeAddress, type HdlcAddress } from './address.js';
import { decodeControl, encodeControl, mayCarryInformation, type HdlcControl } from './control.js';
import { DlmsError } from './errors.js';
import { fcsOk, putFcs } from './fcs.js';

export const FLAG = 0x7e; // IEC 62056-46 §6.4.1.2
export const FORMAT_TYPE_3 = 0xa; // IEC 62056-46 §6.4.1.3: format type sub-field 1010
export const MAX_FRAME_LENGTH = 0x7ff; // 11-bit frame length sub-field
/** format (2) + client/server address (1 each at least) + control + FCS */
export const MIN_FRAME_LENGTH = 2 + 1 + 1 + 1 + 2;

export interface FrameFormat {
  type: typeof FORMAT_TYPE_3;
  /** S bit: more segments of this information follow (IEC 62056-46 §6.4.1.3). */
  segmented: boolean;
  /** Frame length sub-field: bytes between the flags. */
  length: number;
}

export interface HdlcFrame {
  format: FrameFormat;
  destination: HdlcAddress;
  source: HdlcAddress;
  control: HdlcControl;
  /** Present only when the frame has a (non-empty) information field. */
  information?: Uint8Array;
}

export interface FrameInput {
  destination: HdlcAddress;
  source: HdlcAddress;
  control: HdlcControl;
  segmented?: boolean;
  information?: Uint8Array;
}

/** Where the parts of a frame lie, read from its header; offsets are relative to the frame format field. */
export interface FrameLayout {
  length: number;
  segmented: boolean;
  destination: HdlcAddress;
  source: HdlcAddress;
  /** Offset of the control byte; the header (format … control) is [0, control + 1). */
  control: number;
  /** Whether an HCS and information field follow the control byte. */
  hasInformation: boolean;
}

/**
 * Reads and checks the header that starts (after the opening flag) at bytes[start], using bytes up to `end`.
 * Returns 'more' when it needs bytes past `end`; throws DlmsError (BAD_FORMAT, LENGTH, ADDRESS, HCS) when
 * the bytes cannot be a frame header. The incremental framer calls this to reject garbage early.
 */
export function readHeader(bytes: Uint8Array, start: number, end: number): FrameLayout | 'more' {
  if (end - start < 2) return 'more';
  const f0 = bytes[start]!;
  if (f0 >>> 4 !== FORMAT_TYPE_3) throw new DlmsError('BAD_FORMAT', `frame format type 0x${(f0 >>> 4).toString(16)} is not 0xA`);
  const length = ((f0 & 0x07) << 8) | bytes[start + 1]!; // IEC 62056-46 §6.4.1.3: 11-bit length, flags excluded
  if (length < MIN_FRAME_LENGTH) throw new DlmsError('LENGTH', `frame length ${length} is below the minimum ${MIN_FRAME_LENGTH}`);
  const dl = addressLength(bytes, start + 2, end); // IEC 62056-46 §6.4.1.4: destination address first
  if (dl === 'more') return 'more';
  if (dl === 'bad') throw new DlmsError('ADDRESS', 'destination address is not 1, 2 or 4 bytes');
  const sl = addressLength(bytes, start + 2 + dl, end); // … then the source address
  if (sl === 'more') return 'more';
  if (sl === 'bad') throw new DlmsError('ADDRESS', 'source address is not 1, 2 or 4 bytes');
  const control = 2 + dl + sl;
  const header = control + 1;
  if (length < header + 2) throw new DlmsError('LENGTH', `frame length ${length} is shorter than its header`);
  const hasInformation = length > header + 2;
  // IEC 62056-46 §6.4.1.1: a zero-length information field is sent without HCS, so HCS + nothing is invalid.
  if (hasInformation && length < header + 2 + 1 + 2) throw new DlmsError('LENGTH', `frame length ${length} leaves no information`);
  if (hasInformation) {
    if (start + header + 2 > end) return 'more';
    // IEC 62056-46 §6.4.1.6: HCS over the frame format, addresses and control field.
    if (!fcsOk(bytes, start, start + header)) throw new DlmsError('HCS', 'header check sequence does not match');
  } else if (start + header > end) return 'more';
  return {
    length,
    segmented: (f0 & 0x08) !== 0, // IEC 62056-46 §6.4.1.3: segmentation bit S
    destination: decodeAddress(bytes, start + 2, start + 2 + dl).address,
    source: decodeAddress(bytes, start + 2 + dl, start + control).address,
    control,
    hasInformation,
  };
}

/** Parses one whole frame, flags included. Pure; throws only DlmsError. */
export function parseFrame(bytes: Uint8Array): HdlcFrame {
  if (!(bytes instanceof Uint8Array)) throw new DlmsError('SHORT', 'a frame must be a Uint8Array');
  if (bytes.length === 0) throw new DlmsError('SHORT', 'empty frame');
  if (bytes[0] !== FLAG) throw new DlmsError('BAD_FLAG', 'frame does not begin with the flag 0x7E');
  if (bytes.length < MIN_FRAME_LENGTH + 2) throw new DlmsError('SHORT', `${bytes.length} bytes is shorter than any frame`);
  if (bytes[bytes.length - 1] !== FLAG) throw new DlmsError('BAD_FLAG', 'frame does not end with the flag 0x7E');
  const end = bytes.length - 1;
  if (bytes[1]! >>> 4 === FORMAT_TYPE_3 && frameLength(bytes) !== bytes.length - 2) throw lengthError(bytes);
  const layout = readHeader(bytes, 1, end);
  if (layout === 'more' || layout.length !== bytes.length - 2) throw lengthError(bytes);
  // IEC 62056-46 §6.4.1.8: FCS over the whole frame between the flags, HCS and information included.
  if (!fcsOk(bytes, 1, end - 2)) throw new DlmsError('FCS', 'frame check sequence does not match');
  const control = decodeControl(bytes[1 + layout.control]!);
  const frame: HdlcFrame = {
    format: { type: FORMAT_TYPE_3, segmented: layout.segmented, length: layout.length },
    destination: layout.destination,
    source: layout.source,
    control,
  };
  if (layout.hasInformation) {
    if (!mayCarryInformation(control.kind)) throw new DlmsError('CONTROL', `${control.kind} frame with an information field`);
    frame.information = bytes.slice(1 + layout.control + 1 + 2, end - 2); // IEC 62056-46 §6.4.1.7
  }
  return frame;
}

function frameLength(bytes: Uint8Array): number {
  return ((bytes[1]! & 0x07) << 8) | bytes[2]!;
}

function lengthError(bytes: Uint8Array): DlmsError {
  return new DlmsError('LENGTH', `frame length sub-field ${frameLength(bytes)} disagrees with ${bytes.length - 2} bytes between the flags`);
}

/** Bytes between the flags that are not information: format, addresses, control, HCS (when info) and FCS. */
export function frameOverhead(destination: HdlcAddress, source: HdlcAddress, withInformation = true): number {
  return 2 + destination.size + source.size + 1 + (withInformation ? 2 : 0) + 2;
}

/** Encodes one frame with both flags. An empty information field is sent as none (no HCS). */
export function encodeFrame(input: FrameInput): Uint8Array {
  const dst = encodeAddress(input.destination);
  const src = encodeAddress(input.source);
  const control = encodeControl(input.control);
  const info = input.information && input.information.length > 0 ? input.information : undefined;
  if (info && !mayCarryInformation(input.control.kind)) {
    throw new DlmsError('CONTROL', `${input.control.kind} frames carry no information field`);
  }
  const header = 2 + dst.length + src.length + 1;
  const length = header + (info ? 2 + info.length : 0) + 2;
  if (length > MAX_FRAME_LENGTH) throw new DlmsError('LENGTH', `frame length ${length} exceeds ${MAX_FRAME_LENGTH}`);
  const out = new Uint8Array(length + 2);
  out[0] = FLAG;
  out[1] = (FORMAT_TYPE_3 << 4) | (input.segmented ? 0x08 : 0) | (length >>> 8); // IEC 62056-46 §6.4.1.3
  out[2] = length & 0xff;
  out.set(dst, 3);
  out.set(src, 3 + dst.length);
  out[header] = control;
  if (info) {
    putFcs(out, 1, 1 + header); // IEC 62056-46 §6.4.1.6: HCS only when there is an information field
    out.set(info, 1 + header + 2);
  }
  putFcs(out, 1, length - 1); // IEC 62056-46 §6.4.1.8
  out[length + 1] = FLAG;
  return out;
}
