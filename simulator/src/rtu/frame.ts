// Modbus RTU request parsing and response encoding: pure functions over bytes.
// ADU = address (1) + PDU + CRC (2) (Modbus over Serial Line V1.02 §2.5.1.1); PDUs per
// Modbus Application Protocol V1.1b3 §6.3 (FC 03), §6.4 (FC 04), §6.6 (FC 06), §6.12 (FC 16).
import { SimulatorError } from '../errors.js';
import { crcValid, withCrc } from './crc.js';

export const FunctionCode = { ReadHolding: 3, ReadInput: 4, WriteSingle: 6, WriteMultiple: 16 } as const;
export type SupportedFunctionCode = (typeof FunctionCode)[keyof typeof FunctionCode];

export const ExceptionCode = { IllegalFunction: 1, IllegalDataAddress: 2, IllegalDataValue: 3, ServerDeviceFailure: 4 } as const; // §7

/** Modbus over Serial Line V1.02 §2.5.1.1: an RTU frame is at most 256 bytes. */
export const MAX_ADU = 256;
/** Broadcast address: requests to it are never answered (Modbus over Serial Line V1.02 §2.1). */
export const BROADCAST = 0;

export interface ModbusRequest {
  unitId: number;
  functionCode: SupportedFunctionCode;
  /** First register address (PDU address, 0-based). */
  address: number;
  /** Number of registers (1 for FC 06). */
  quantity: number;
  /** Register values written by FC 06/16. */
  values?: number[];
}

const u16 = (b: Uint8Array, i: number): number => (b[i]! << 8) | b[i + 1]!; // big-endian (§4.2)

export function isSupportedFunction(fc: number): fc is SupportedFunctionCode {
  return fc === 3 || fc === 4 || fc === 6 || fc === 16;
}

/**
 * Total request length implied by the header at `offset`, for a framer:
 * a number, 'more' when the header is still incomplete, or 'unknown' for an unsupported function code.
 */
export function requestLength(buf: Uint8Array, offset = 0, end = buf.length): number | 'more' | 'unknown' {
  if (end - offset < 2) return 'more';
  const fc = buf[offset + 1]!;
  if (fc === 3 || fc === 4 || fc === 6) return 8; // unit, fc, addr(2), qty|value(2), crc(2)
  if (fc === 16) {
    if (end - offset < 7) return 'more';
    return 9 + buf[offset + 6]!; // unit, fc, addr(2), qty(2), byteCount, values(byteCount), crc(2)
  }
  return 'unknown';
}

/** Parses one complete RTU request frame. Throws SimulatorError; `exception` is set when an answer is due. */
export function parseRequest(bytes: Uint8Array): ModbusRequest {
  if (bytes.length < 4) throw new SimulatorError('SHORT_FRAME', `${bytes.length} bytes is shorter than any RTU frame`);
  if (bytes.length > MAX_ADU) throw new SimulatorError('LENGTH_MISMATCH', `${bytes.length} bytes exceeds ${MAX_ADU}`);
  if (!crcValid(bytes)) throw new SimulatorError('CRC_MISMATCH', 'CRC does not match (Modbus over Serial Line V1.02 §2.5.1.2)');
  const unitId = bytes[0]!;
  const functionCode = bytes[1]!;
  if (!isSupportedFunction(functionCode)) {
    throw new SimulatorError('ILLEGAL_FUNCTION', `function code ${functionCode} is not supported`, {
      exception: { unitId, functionCode, exceptionCode: ExceptionCode.IllegalFunction },
    });
  }
  const expected = requestLength(bytes);
  if (expected !== bytes.length) {
    throw new SimulatorError('LENGTH_MISMATCH', `function ${functionCode} frame of ${bytes.length} bytes, expected ${String(expected)}`);
  }
  const address = u16(bytes, 2);
  const illegalValue = (why: string): SimulatorError =>
    new SimulatorError('ILLEGAL_DATA_VALUE', why, { exception: { unitId, functionCode, exceptionCode: ExceptionCode.IllegalDataValue } });
  switch (functionCode) {
    case 3:
    case 4: {
      const quantity = u16(bytes, 4);
      if (quantity < 1 || quantity > 125) throw illegalValue(`quantity ${quantity} outside 1..125 (§6.3)`);
      return { unitId, functionCode, address, quantity };
    }
    case 6:
      return { unitId, functionCode, address, quantity: 1, values: [u16(bytes, 4)] };
    case 16: {
      const quantity = u16(bytes, 4);
      const byteCount = bytes[6]!;
      if (quantity < 1 || quantity > 123 || byteCount !== quantity * 2) {
        throw illegalValue(`quantity ${quantity} / byte count ${byteCount} invalid (§6.12)`);
      }
      const values = Array.from({ length: quantity }, (_, i) => u16(bytes, 7 + 2 * i));
      return { unitId, functionCode, address, quantity, values };
    }
  }
}

/** Encodes a read request (FC 03/04) for a client. */
export function encodeReadRequest(unitId: number, functionCode: 3 | 4, address: number, quantity: number): Uint8Array {
  return withCrc(Uint8Array.of(unitId, functionCode, address >>> 8, address & 0xff, quantity >>> 8, quantity & 0xff));
}

/**
 * The normal response to `req`. For FC 03/04 `registerData` is the 2 × quantity data bytes;
 * FC 06 echoes the request (§6.6); FC 16 returns address and quantity (§6.12).
 */
export function encodeResponse(req: ModbusRequest, registerData?: Uint8Array): Uint8Array {
  const { unitId, functionCode, address, quantity } = req;
  switch (functionCode) {
    case 3:
    case 4: {
      if (!registerData || registerData.length !== quantity * 2) {
        throw new SimulatorError('LENGTH_MISMATCH', `response needs ${quantity * 2} data bytes`);
      }
      const body = new Uint8Array(3 + registerData.length);
      body.set([unitId, functionCode, registerData.length]); // §6.3: byte count = 2 × N
      body.set(registerData, 3);
      return withCrc(body);
    }
    case 6: {
      const v = req.values?.[0] ?? 0;
      return withCrc(Uint8Array.of(unitId, 6, address >>> 8, address & 0xff, v >>> 8, v & 0xff));
    }
    case 16:
      return withCrc(Uint8Array.of(unitId, 16, address >>> 8, address & 0xff, quantity >>> 8, quantity & 0xff));
  }
}

/** Exception response: function code with its high bit set, then the exception code (§7). */
export function encodeException(unitId: number, functionCode: number, exceptionCode: number): Uint8Array {
  return withCrc(Uint8Array.of(unitId, (functionCode | 0x80) & 0xff, exceptionCode));
}
