// The HDLC control field (one byte, modulo-8 sequence numbers) — IEC 62056-46 §6.4.1.5 and §6.4.3, after
// ISO/IEC 13239. Bit 1 is the LSB; P/F is bit 5 (0x10). N(S) and N(R) are 3-bit counters modulo 8.
//   I     R R R P S S S 0      RR   R R R P 0 0 0 1      RNR  R R R P 0 1 0 1
//   SNRM  1 0 0 P 0 0 1 1      DISC 0 1 0 P 0 0 1 1      UA   0 1 1 F 0 0 1 1
//   DM    0 0 0 F 1 1 1 1      FRMR 1 0 0 F 0 1 1 1      UI   0 0 0 P 0 0 1 1
import { DlmsError } from './errors.js';

export type UnnumberedKind = 'SNRM' | 'DISC' | 'UA' | 'DM' | 'FRMR' | 'UI';
export type HdlcControl =
  | { kind: 'I'; pf: boolean; ns: number; nr: number }
  | { kind: 'RR' | 'RNR'; pf: boolean; nr: number }
  | { kind: UnnumberedKind; pf: boolean };
export type ControlKind = HdlcControl['kind'];

const PF = 0x10;
// IEC 62056-46 §6.4.3: the unnumbered commands and responses used, with the P/F bit cleared.
const UNNUMBERED: Record<UnnumberedKind, number> = { SNRM: 0x83, DISC: 0x43, UA: 0x63, DM: 0x0f, FRMR: 0x87, UI: 0x03 };
const BY_CODE = new Map<number, UnnumberedKind>(
  (Object.entries(UNNUMBERED) as [UnnumberedKind, number][]).map(([k, v]) => [v, k]),
);

function seq(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 7) {
    throw new DlmsError('CONTROL', `${what} must be 0..7 (modulo 8): ${String(v)}`);
  }
  return v;
}

export function encodeControl(c: HdlcControl): number {
  const pf = c.pf ? PF : 0;
  switch (c.kind) {
    case 'I': // ISO/IEC 13239 I format: bit 1 = 0, N(S) in bits 2-4, N(R) in bits 6-8
      return (seq(c.nr, 'N(R)') << 5) | pf | (seq(c.ns, 'N(S)') << 1);
    case 'RR': // S format 01, supervisory function 00
      return (seq(c.nr, 'N(R)') << 5) | pf | 0x01;
    case 'RNR': // S format 01, supervisory function 01
      return (seq(c.nr, 'N(R)') << 5) | pf | 0x05;
    default: {
      const code = UNNUMBERED[(c as { kind: UnnumberedKind }).kind];
      if (code === undefined) throw new DlmsError('CONTROL', `unknown frame kind ${String((c as { kind: unknown }).kind)}`);
      return code | pf;
    }
  }
}

/** Decodes a control byte; throws CONTROL for the frames IEC 62056-46 does not use (REJ, SREJ, SABM, …). */
export function decodeControl(byte: number): HdlcControl {
  const pf = (byte & PF) !== 0;
  if ((byte & 0x01) === 0) return { kind: 'I', pf, ns: (byte >>> 1) & 7, nr: byte >>> 5 };
  if ((byte & 0x0f) === 0x01) return { kind: 'RR', pf, nr: byte >>> 5 };
  if ((byte & 0x0f) === 0x05) return { kind: 'RNR', pf, nr: byte >>> 5 };
  const kind = BY_CODE.get(byte & ~PF);
  if (kind === undefined) throw new DlmsError('CONTROL', `unsupported control field 0x${byte.toString(16).padStart(2, '0')}`);
  return { kind, pf };
}

/** Supervisory frames (RR, RNR) have no information field (ISO/IEC 13239 S format; IEC 62056-46 §6.4.3). */
export function mayCarryInformation(kind: ControlKind): boolean {
  return kind !== 'RR' && kind !== 'RNR';
}
