import { Reader, Writer } from './codec.js';
import { ProtocolError } from './errors.js';
import { RecordType, VERSION_1, type RecordTypeName } from './record-types.js';

export function writeHeader(type: RecordTypeName): Writer {
  return new Writer().u8(RecordType[type]).u8(VERSION_1);
}

export function readHeader(bytes: Uint8Array, type: RecordTypeName): Reader {
  const rd = new Reader(bytes, type);
  const t = rd.u8('type');
  if (t !== RecordType[type]) throw new ProtocolError('WRONG_TYPE', `expected a ${type} record, got type 0x${t.toString(16)}`);
  const v = rd.u8('version');
  if (v !== VERSION_1) throw new ProtocolError('BAD_VERSION', `unsupported ${type} version ${v}`);
  return rd;
}

/** The record type byte of any MeterSeal record, or throws. */
export function recordTypeOf(bytes: Uint8Array): RecordTypeName {
  const t = bytes[0];
  for (const [name, code] of Object.entries(RecordType)) if (code === t) return name as RecordTypeName;
  throw new ProtocolError('WRONG_TYPE', `unknown record type ${t === undefined ? '(empty)' : '0x' + t.toString(16)}`);
}
