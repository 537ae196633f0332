// OBIS codes (IEC 62056-6-1 §4): six value groups A.B.C.D.E.F, each 0..255, written as "1.0.1.8.0.255".
import { ProtocolError } from './errors.js';

export function parseObis(text: string): Uint8Array {
  const parts = text.split('.');
  if (parts.length !== 6) throw new ProtocolError('BAD_OBIS', `OBIS code "${text.slice(0, 40)}" must have 6 groups`);
  const out = new Uint8Array(6);
  parts.forEach((p, i) => {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) {
      throw new ProtocolError('BAD_OBIS', `OBIS group ${i + 1} of "${text.slice(0, 40)}" is not 0..255`);
    }
    out[i] = Number(p);
  });
  return out;
}

export function formatObis(bytes: Uint8Array): string {
  if (bytes.length !== 6) throw new ProtocolError('BAD_OBIS', 'OBIS code must be 6 bytes');
  return Array.from(bytes).join('.');
}
