// HDLC parameter negotiation in the information field of SNRM and UA (IEC 62056-46 §6.4.4.4.3.2, using the
// ISO/IEC 13239 parameter-negotiation format):
//   0x81 format identifier | 0x80 group identifier | group length | { parameter id | length | value }*
// Each side states its own view: "transmit" is what the sender of the frame will send, "receive" what it
// accepts. An absent field or parameter means the default (128 bytes, window 1).
import { DlmsError } from './errors.js';

export interface HdlcParameters {
  /** maximum_information_field_length_transmit (bytes) */
  maxInfoTx: number;
  /** maximum_information_field_length_receive (bytes) */
  maxInfoRx: number;
  /** window_size_transmit (frames) */
  windowTx: number;
  /** window_size_receive (frames) */
  windowRx: number;
}

// IEC 62056-46 §6.4.4.4.3.2: defaults used when a parameter is not negotiated.
export const DEFAULT_PARAMETERS: Readonly<HdlcParameters> = Object.freeze({ maxInfoTx: 128, maxInfoRx: 128, windowTx: 1, windowRx: 1 });

export const FORMAT_IDENTIFIER = 0x81;
export const GROUP_IDENTIFIER = 0x80;
export const PARAMETER_ID = { maxInfoTx: 0x05, maxInfoRx: 0x06, windowTx: 0x07, windowRx: 0x08 } as const;

// IEC HDLC setup (IEC 62056-6-2 class 23): max_info_field_length 32..2030, window_size 1..7 (modulo-8 numbering).
export const MAX_INFO_RANGE = { min: 32, max: 2030 } as const;
export const WINDOW_RANGE = { min: 1, max: 7 } as const;

const NAMES = Object.keys(PARAMETER_ID) as (keyof HdlcParameters)[];

function inRange(v: unknown, r: { min: number; max: number }): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= r.min && v <= r.max;
}

function checkParameters(p: HdlcParameters): void {
  for (const name of NAMES) {
    const r = name.startsWith('window') ? WINDOW_RANGE : MAX_INFO_RANGE;
    if (!inRange(p[name], r)) throw new DlmsError('PARAMETER', `${name} must be ${r.min}..${r.max}: ${String(p[name])}`);
  }
}

/**
 * The SNRM/UA information field stating all four parameters (missing ones take the defaults). Lengths
 * take one byte when they fit, else two; window sizes take four bytes, as in the IEC 62056-46 example.
 */
export function encodeParameters(params: Partial<HdlcParameters> = {}): Uint8Array {
  const p: HdlcParameters = { ...DEFAULT_PARAMETERS, ...params };
  checkParameters(p);
  const body: number[] = [];
  for (const name of NAMES) {
    const v = p[name];
    const width = name.startsWith('window') ? 4 : v <= 0xff ? 1 : 2;
    body.push(PARAMETER_ID[name], width); // parameter identifier, parameter length
    for (let i = width - 1; i >= 0; i--) body.push((v >>> (8 * i)) & 0xff); // value, most significant byte first
  }
  return Uint8Array.from([FORMAT_IDENTIFIER, GROUP_IDENTIFIER, body.length, ...body]);
}

/**
 * Reads the parameters of an SNRM or UA information field; no field (or an empty one) means all defaults.
 * Values may be 1, 2 or 4 bytes; unknown parameter identifiers are skipped. Throws PARAMETER.
 */
export function parseParameters(info?: Uint8Array): HdlcParameters {
  const p: HdlcParameters = { ...DEFAULT_PARAMETERS };
  if (!info || info.length === 0) return p;
  if (info.length < 3) throw new DlmsError('PARAMETER', 'parameter field shorter than its 3-byte header');
  if (info[0] !== FORMAT_IDENTIFIER) throw new DlmsError('PARAMETER', `format identifier 0x${info[0]!.toString(16)} is not 0x81`);
  if (info[1] !== GROUP_IDENTIFIER) throw new DlmsError('PARAMETER', `group identifier 0x${info[1]!.toString(16)} is not 0x80`);
  const end = 3 + info[2]!;
  if (end !== info.length) throw new DlmsError('PARAMETER', `group length ${info[2]} disagrees with ${info.length - 3} bytes`);
  for (let i = 3; i < end; ) {
    if (i + 2 > end) throw new DlmsError('PARAMETER', 'parameter header runs past the group');
    const id = info[i]!;
    const width = info[i + 1]!;
    i += 2;
    if (i + width > end) throw new DlmsError('PARAMETER', `parameter 0x${id.toString(16)} runs past the group`);
    const name = NAMES.find((n) => PARAMETER_ID[n] === id);
    if (name !== undefined) {
      if (width !== 1 && width !== 2 && width !== 4) throw new DlmsError('PARAMETER', `parameter ${name} has length ${width}, not 1, 2 or 4`);
      let v = 0;
      for (let k = 0; k < width; k++) v = v * 256 + info[i + k]!;
      const r = name.startsWith('window') ? WINDOW_RANGE : { min: 1, max: Number.MAX_SAFE_INTEGER };
      if (!inRange(v, r)) throw new DlmsError('PARAMETER', `${name} out of range: ${v}`);
      p[name] = v;
    }
    i += width;
  }
  return p;
}

/**
 * The client's working parameters after its SNRM `proposal` was answered by the server's UA `answer`
 * (both in their sender's view): it sends no more than the server receives, and so on.
 */
export function negotiate(proposal: HdlcParameters, answer: HdlcParameters): HdlcParameters {
  return {
    maxInfoTx: Math.min(proposal.maxInfoTx, answer.maxInfoRx),
    maxInfoRx: Math.min(proposal.maxInfoRx, answer.maxInfoTx),
    windowTx: Math.min(proposal.windowTx, answer.windowRx),
    windowRx: Math.min(proposal.windowRx, answer.windowTx),
  };
}

export function isDefault(p: HdlcParameters): boolean {
  return NAMES.every((n) => p[n] === DEFAULT_PARAMETERS[n]);
}

/** Validates a (partial) proposal against the class-23 ranges and fills in the defaults. */
export function parametersOf(params: Partial<HdlcParameters> = {}): HdlcParameters {
  const p: HdlcParameters = { ...DEFAULT_PARAMETERS, ...params };
  checkParameters(p);
  return p;
}
