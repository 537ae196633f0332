// A signed correction of an earlier reading (docs/protocol.md §14): it names the original by seq and reading hash,
// carries the corrected register values and a reason, takes its own new seq in the outbox and is signed with the
// session key like a reading, so both interfaces carry it as they carry readings. The original stays as it was.
import { randomBytes } from 'node:crypto';
import {
  decodeDelivery, readingHash, signCorrection, sortRegisters, type CorrectedRegister, type Correction,
} from '@meterseal/protocol';
import { AgentError } from './errors.js';
import type { Session } from './enrol.js';

export interface CorrectionRequest {
  /** The reading corrected (one this agent signed and still holds in its outbox). */
  originalSeq: bigint;
  /** The corrected values; sorted into OBIS order here. */
  registers: CorrectedRegister[];
  /** Why (1..255 UTF-8 bytes, no control characters): shown beside the values in reconciliation. */
  reason: string;
}

/**
 * The correction record for `req` at `seq`, from the original's stored Delivery. Throws AgentError
 * NOT_A_READING when the outbox holds no reading at originalSeq (nothing, a gap, or a correction).
 */
export function buildCorrection(meterId: string, seq: bigint, original: Uint8Array | null, req: CorrectionRequest, nowMs: bigint): Correction {
  let decoded;
  try {
    if (original === null) throw new Error('nothing stored at that seq');
    decoded = decodeDelivery(original);
  } catch (cause) {
    throw new AgentError('NOT_A_READING', `seq ${req.originalSeq} is not a reading this agent signed and still holds`, { cause });
  }
  if (decoded.decoded.meterId !== meterId || decoded.decoded.seq !== req.originalSeq) {
    throw new AgentError('NOT_A_READING', `the outbox entry at seq ${req.originalSeq} is not this meter's reading at that seq`);
  }
  return {
    meterId,
    seq,
    originalSeq: req.originalSeq,
    originalHash: readingHash(decoded.reading), // §14: the hash of the original's canonical salted bytes
    agentTimeMs: nowMs,
    reason: req.reason,
    registers: sortRegisters(req.registers.map((r) => ({ ...r, raw: new Uint8Array(0) }))).map(({ obis, value, scaler, unit }) => ({ obis, value, scaler, unit })),
    salt: new Uint8Array(randomBytes(16)),
  };
}

/** Both payloads of a correction at `seq`: the signed anchor (interface 1) and the Delivery (interface 2). */
export function signedCorrection(
  meterId: string, seq: bigint, original: Uint8Array | null, req: CorrectionRequest, nowMs: bigint, session: Session,
): { anchor: Uint8Array; delivery: Uint8Array } {
  const { anchor, delivery } = signCorrection(buildCorrection(meterId, seq, original, req, nowMs), { keyId: session.keyId, secretKey: session.key.secretKey });
  return { anchor, delivery };
}

const DECIMAL = /^-?\d{1,19}$/;

/**
 * The console's `correct <originalSeq> <obis>=<value>,<scaler>,<unit> [...] -- <reason ...>` arguments as a
 * request. Throws AgentError USAGE naming what is wrong; OBIS codes, units and the reason are checked again when
 * the record is encoded (ProtocolError).
 */
export function parseCorrectionArgs(args: readonly string[]): CorrectionRequest {
  const usage = (why: string): never => {
    throw new AgentError('USAGE', `${why}; usage: correct <originalSeq> <obis>=<value>,<scaler>,<unit> [...] -- <reason>`);
  };
  const sep = args.indexOf('--');
  if (sep < 2) usage('expected a seq, at least one register and then -- before the reason');
  const reason = args.slice(sep + 1).join(' ');
  if (reason === '') usage('a reason is required after --');
  if (!/^[1-9]\d{0,19}$/.test(args[0]!)) usage(`"${args[0]!.slice(0, 24)}" is not a seq`);
  const registers = args.slice(1, sep).map((a) => {
    const eq = a.indexOf('=');
    const parts = eq > 0 ? a.slice(eq + 1).split(',') : [];
    if (parts.length !== 3 || !DECIMAL.test(parts[0]!) || !/^-?\d{1,3}$/.test(parts[1]!)) usage(`"${a.slice(0, 40)}" is not <obis>=<value>,<scaler>,<unit>`);
    return { obis: a.slice(0, eq), value: BigInt(parts[0]!), scaler: Number(parts[1]), unit: parts[2] as CorrectedRegister['unit'] };
  });
  return { originalSeq: BigInt(args[0]!), registers, reason };
}
