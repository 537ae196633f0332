// Reading common COSEM interface classes (IEC 62056-6-2): the attribute layouts, pure conversions of their
// Data, and the range selective access of Profile generic. Used by CosemClient; testable without a link.
import { DlmsError } from '../errors.js';
import { dateTimeFromEpochMs, dateTimeToEpochMs, encodeDateTime, parseDateTime, clockStatusFlags } from '../axdr/datetime.js';
import type { ClockStatusFlags, CosemDateTime, ToUtcOptions } from '../axdr/datetime.js';
import { isSmallInt, type Data } from '../axdr/types.js';
import type { SelectiveAccess } from './get.js';
import { formatObis, obis } from './obis.js';
import { UNITS, scaledDecimal } from './units.js';

// IEC 62056-6-2 §4.3.1 Data, §4.3.2 Register, §4.3.6 Profile generic, §4.5.1 Clock, §4.4.3 Association LN.
export const CLASS_ID = { data: 1, register: 3, extendedRegister: 4, demandRegister: 5, profileGeneric: 7, clock: 8, associationLn: 15 } as const;
export const CLOCK_OBIS = '0.0.1.0.0.255'; // IEC 62056-6-1 §7: the clock object

export interface RegisterValue {
  /** attribute 2, value, as an integer. */
  value: bigint;
  /** attribute 3, scaler_unit: the value means value × 10^scaler unit. */
  scaler: number;
  unit: number;
  unitSymbol: string | undefined;
  /** The exact scaled value as a decimal string, e.g. "12345.678". */
  decimal: string;
}

export function integerOf(d: Data, what: string): bigint {
  if (isSmallInt(d.type)) return BigInt((d as { value: number }).value);
  if (d.type === 'long64' || d.type === 'long64-unsigned') return d.value;
  throw new DlmsError('TYPE', `${what} is ${d.type}, not an integer`);
}

/** A Register's value (attribute 2) and scaler_unit (attribute 3: structure { integer, enum }). */
export function registerValue(value: Data, scalerUnit: Data): RegisterValue {
  const v = integerOf(value, 'register value');
  if (scalerUnit.type !== 'structure' || scalerUnit.value.length !== 2) throw new DlmsError('TYPE', `scaler_unit is ${scalerUnit.type}, not a structure of 2`);
  const scaler = Number(integerOf(scalerUnit.value[0]!, 'scaler'));
  const unit = Number(integerOf(scalerUnit.value[1]!, 'unit'));
  if (scaler < -128 || scaler > 127) throw new DlmsError('TYPE', `scaler out of range: ${scaler}`);
  return { value: v, scaler, unit, unitSymbol: UNITS[unit], decimal: scaledDecimal(v, scaler) };
}

export interface ClockReading {
  /** The UTC instant, epoch milliseconds, and as ISO-8601 Z. */
  epochMs: number;
  iso: string;
  /** The fields as the meter sent them (local time, deviation, status). */
  dateTime: CosemDateTime;
  /** clock_status flags; null when the meter did not specify a status. */
  status: ClockStatusFlags | null;
  /** The meter flags the time as doubtful, from a different clock base, or its status as invalid. */
  doubtful: boolean;
}

/** The Clock time attribute (octet-string(12) or date-time) as a UTC instant; CLOCK if it is not one. */
export function clockReading(d: Data, options: ToUtcOptions = {}): ClockReading {
  if ((d.type !== 'octet-string' && d.type !== 'date-time') || d.value.length !== 12) {
    throw new DlmsError('TYPE', `clock time is ${d.type}${'value' in d && d.value instanceof Uint8Array ? ` of ${d.value.length} octets` : ''}, not a date-time`);
  }
  const dateTime = parseDateTime(d.value);
  const epochMs = dateTimeToEpochMs(dateTime, options);
  const status = dateTime.status === null ? null : clockStatusFlags(dateTime.status);
  const doubtful = status !== null && (status.doubtfulValue || status.differentClockBase || status.invalidClockStatus);
  return { epochMs, iso: new Date(epochMs).toISOString(), dateTime, status, doubtful };
}

/** capture_object_definition (IEC 62056-6-2 §4.3.6): which attribute (and element) a column holds. */
export interface CaptureObject {
  classId: number;
  logicalName: string;
  attributeIndex: number;
  dataIndex: number;
}

export function captureObjectData(c: CaptureObject): Data {
  return {
    type: 'structure',
    value: [
      { type: 'long-unsigned', value: c.classId },
      { type: 'octet-string', value: obis(c.logicalName) },
      { type: 'integer', value: c.attributeIndex },
      { type: 'long-unsigned', value: c.dataIndex },
    ],
  };
}

/** Profile generic attribute 3, capture_objects: array of capture_object_definition. */
export function captureObjects(d: Data): CaptureObject[] {
  if (d.type !== 'array') throw new DlmsError('TYPE', `capture_objects is ${d.type}, not an array`);
  return d.value.map((e, i) => {
    const f = e.type === 'structure' ? e.value : [];
    const ln = f[1];
    if (f.length !== 4 || ln?.type !== 'octet-string' || ln.value.length !== 6) throw new DlmsError('TYPE', `capture object ${i} is not a capture_object_definition`);
    const n = (x: Data, what: string) => Number(integerOf(x, what));
    return { classId: n(f[0]!, 'class_id'), logicalName: formatObis(ln.value), attributeIndex: n(f[2]!, 'attribute_index'), dataIndex: n(f[3]!, 'data_index') };
  });
}

export const CLOCK_COLUMN: CaptureObject = { classId: CLASS_ID.clock, logicalName: '0-0:1.0.0*255', attributeIndex: 2, dataIndex: 0 };
export const DEFAULT_RANGE = { from: Date.UTC(2000, 0, 1), to: Date.UTC(2099, 11, 31, 23, 59, 59) } as const;

export interface RangeOptions {
  /** The column the range applies to; default the clock (class 8, 0.0.1.0.0.255, attribute 2). */
  restrictingObject?: CaptureObject;
  /** The meter's deviation (DLMS sign, minutes): from/to are sent in the meter's local time. Default 0. */
  deviation?: number;
  /** Columns to return; default all (an empty selected_values array). */
  columns?: CaptureObject[];
}

/**
 * Selective access by range (IEC 62056-6-2 §4.3.6, Profile generic attribute 2, access_selector 1):
 * range_descriptor ::= structure { restricting_object capture_object_definition, from_value, to_value,
 * selected_values array of capture_object_definition }; the bounds are date-times as octet-string(12).
 */
export function rangeAccess(fromMs: number, toMs: number, options: RangeOptions = {}): SelectiveAccess {
  const dt = (ms: number): Data => ({ type: 'octet-string', value: encodeDateTime(dateTimeFromEpochMs(ms, { deviation: options.deviation ?? 0 })) });
  return {
    selector: 1,
    parameters: {
      type: 'structure',
      value: [
        captureObjectData(options.restrictingObject ?? CLOCK_COLUMN),
        dt(fromMs),
        dt(toMs),
        { type: 'array', value: (options.columns ?? []).map(captureObjectData) },
      ],
    },
  };
}

/** Profile generic attribute 2, buffer: array of structure, one per entry; each entry's columns. */
export function profileRows(d: Data): Data[][] {
  if (d.type !== 'array') throw new DlmsError('TYPE', `buffer is ${d.type}, not an array`);
  return d.value.map((e, i) => {
    if (e.type !== 'structure') throw new DlmsError('TYPE', `buffer entry ${i} is ${e.type}, not a structure`);
    return e.value;
  });
}
