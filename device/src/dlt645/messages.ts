// DL/T 645-2007 application layer, the part a reader needs: read data (§7.1) and read address (§7.4).
import { Dlt645Error, describeErrorWord } from './errors.js';
import { ControlBit, FunctionCode, WILDCARD_ADDRESS, controlFields, decodeAddress, type Dlt645Frame } from './frame.js';

/** A data identifier DI3 DI2 DI1 DI0 as 8 hex digits, DI3 first, e.g. "00010000" (Appendix A). */
export function isDataIdentifier(di: string): boolean {
  return typeof di === 'string' && /^[0-9A-F]{8}$/.test(di);
}

/** Chapter 6: the four DI bytes are sent DI0 first. */
export function encodeDi(di: string): Uint8Array {
  if (!isDataIdentifier(di)) throw new Dlt645Error('PROTOCOL', `data identifier ${JSON.stringify(String(di).slice(0, 16))} is not 8 upper-case hex digits`);
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) out[i] = Number.parseInt(di.slice(6 - 2 * i, 8 - 2 * i), 16);
  return out;
}

export function decodeDi(bytes: Uint8Array): string {
  if (bytes.length !== 4) throw new Dlt645Error('LENGTH', `data identifier has ${bytes.length} bytes, not 4`);
  let s = '';
  for (let i = 3; i >= 0; i--) s += bytes[i]!.toString(16).padStart(2, '0');
  return s.toUpperCase();
}

/** §7.1 master request: C = 11H, L = 04H, data = DI0..DI3. */
export function readDataRequest(address: string, di: string): Dlt645Frame {
  return { address, control: FunctionCode.ReadData, data: encodeDi(di) };
}

/** §7.4 master request: C = 13H, L = 00H, sent to the all-AA address (one meter on a point-to-point line). */
export function readAddressRequest(): Dlt645Frame {
  return { address: WILDCARD_ADDRESS, control: FunctionCode.ReadAddress, data: new Uint8Array(0) };
}

export interface ReadDataAnswer {
  di: string;
  /** The value bytes after the DI, as sent (little-endian BCD), offset removed. */
  value: Uint8Array;
}

/** True when `frame` is a slave's answer (D7 = 1) to function `func`, normal or abnormal. */
export function answersFunction(frame: Dlt645Frame, func: number): boolean {
  const c = controlFields(frame.control);
  return c.response && c.func === func;
}

/**
 * Reads a §7.1 answer: 91H normal (DI + value), B1H normal with follow-up frames (not supported: PROTOCOL),
 * D1H abnormal (one error word: METER_ERROR with `errorWord`).
 */
export function parseReadDataAnswer(frame: Dlt645Frame): ReadDataAnswer {
  const c = controlFields(frame.control);
  if (!c.response || c.func !== FunctionCode.ReadData) {
    throw new Dlt645Error('PROTOCOL', `control 0x${frame.control.toString(16)} is not an answer to read data`);
  }
  if (c.abnormal) {
    // §7.1 abnormal answer: C = D1H, L = 01H, data = the error word ERR.
    if (frame.data.length !== 1) throw new Dlt645Error('LENGTH', `abnormal answer carries ${frame.data.length} bytes, not the 1-byte error word`);
    const errorWord = frame.data[0]!;
    throw new Dlt645Error('METER_ERROR', `meter ${frame.address} refused the read: ${describeErrorWord(errorWord).join(', ')} (ERR 0x${errorWord.toString(16).padStart(2, '0')})`, { errorWord });
  }
  if (c.followUp) {
    throw new Dlt645Error('PROTOCOL', `meter ${frame.address} announced follow-up frames (C = 0x${frame.control.toString(16)}); §7.2 reads are not supported`);
  }
  if (frame.data.length < 4) throw new Dlt645Error('LENGTH', `read-data answer carries ${frame.data.length} bytes, less than the 4-byte DI`);
  return { di: decodeDi(frame.data.subarray(0, 4)), value: frame.data.slice(4) };
}

/** Reads a §7.4 answer (93H): the data field is the meter's address, A0 first. */
export function parseReadAddressAnswer(frame: Dlt645Frame): string {
  if (frame.control !== (ControlBit.Response | FunctionCode.ReadAddress)) {
    throw new Dlt645Error('PROTOCOL', `control 0x${frame.control.toString(16)} is not a normal answer to read address`);
  }
  if (frame.data.length !== 6) throw new Dlt645Error('LENGTH', `read-address answer carries ${frame.data.length} bytes, not 6`);
  return decodeAddress(frame.data);
}
