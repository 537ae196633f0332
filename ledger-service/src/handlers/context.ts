// What every request handler gets: the request context (which op, which meter, what to call the request
// in the response's `ref`) and the ledger's parts. Handlers are synchronous — SQLite (better-sqlite3) is —
// so one request is decided and committed before the next is looked at.
import type { Logger } from 'pino';
import {
  METER_ID_PATTERN, ProtocolError, Reader, splitSigned, type RpcOp,
} from '@meterseal/protocol';
import type { Challenges } from '../challenges.js';
import type { LedgerConfig } from '../config.js';
import { Rejection, describe } from '../errors.js';
import type { KeyCache } from '../key-cache.js';
import type { LedgerKeys } from '../keys.js';
import type { LedgerLog } from '../log.js';
import type { LedgerStore, MeterRow } from '../store.js';
import type { MeterCa } from '../meter-ca.js';
import type { Whitelist } from '../whitelist.js';

export interface LedgerDeps {
  config: LedgerConfig;
  store: LedgerStore;
  log: LedgerLog;
  keys: LedgerKeys;
  whitelist: Whitelist;
  challenges: Challenges;
  keyCache: KeyCache;
  logger: Logger;
  /** The meter CA (meter-ca.ts) when config.meterCa.enabled: registrations with a tlsCsr get a client certificate. */
  meterCa?: MeterCa;
}

export interface RequestContext {
  op: RpcOp;
  topic: string;
  /** What the response's `ref` says (docs/protocol.md §9): the op name, or the decimal seq for anchors. */
  ref: string;
  /** Set as soon as known, so that even a refusal reaches the meter's response topic. */
  meterId?: string;
  nowMs: number;
  /** The publishing client (id, remote address) when the ledger runs the broker; absent behind mosquitto. */
  source?: { clientId?: string; address?: string };
}

export type Handler = (ctx: RequestContext, payload: Uint8Array, deps: LedgerDeps) => Record<string, unknown>;

/**
 * Best effort on bytes that may not decode: every signed request record starts with type, version and
 * a str8 meter id (anchors then a u64 seq), docs/protocol.md §4–7. Used only to address a refusal.
 */
export function peekRecord(payload: Uint8Array): { meterId?: string; seq?: bigint } {
  const out: { meterId?: string; seq?: bigint } = {};
  try {
    const rd = new Reader(payload, 'request');
    rd.u8('type');
    rd.u8('version');
    const id = rd.str8('meterId');
    if (!METER_ID_PATTERN.test(id)) return out;
    out.meterId = id;
    out.seq = rd.u64('seq');
  } catch {
    // too short: keep what was read
  }
  return out;
}

/** Splits record || signature and decodes the record; anything wrong is a MALFORMED naming it. */
export function decodeSigned<T>(payload: Uint8Array, decode: (b: Uint8Array) => T, what: string): { record: Uint8Array; signature: Uint8Array; value: T } {
  try {
    const { record, signature } = splitSigned(payload);
    return { record, signature, value: decode(record) };
  } catch (err) {
    const code = err instanceof ProtocolError ? ` [${err.code}]` : '';
    throw new Rejection('MALFORMED', `not a signed ${what}: ${describe(err)}${code}`, { cause: err });
  }
}

export function requireMeter(deps: LedgerDeps, meterId: string): MeterRow {
  const m = deps.store.getMeter(meterId);
  if (!m) throw new Rejection('UNKNOWN_METER', `meter ${meterId} is not registered`);
  return m;
}
