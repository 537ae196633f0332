// The per-meter index over the read-only query API (docs/ledger.md §Queries). All GET, all checkable:
//   GET /v1/index?start=I&count=C        index leaves [I, I+C) of the latest checkpoint, with that checkpoint
//   GET /v1/index/proof?meter=ID         one meter's index leaf and its inclusion proof (RFC 9162 §2.1.3.1)
//   GET /v1/meter/node?meter&size&start&end   node [start,end) of the meter's tree of `size` leaves: its two
//                                        children's hashes (and seq bounds), or its leaves when ≤ 64
//   GET /v1/meter/range?meter&size&start&end  leaves [start,end) (≤ 1024) with a range proof
import type {
  FastifyBaseLogger, FastifyInstance, FastifyReply, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault,
} from 'fastify';
import {
  ProtocolError, meterNodeAnswer, meterRangeAnswer, toBase64, wireIndexLeaf, type MeterTreeSource,
} from '@meterseal/protocol';
import type { LedgerLog } from './log.js';
import type { LedgerStore, StoredCheckpoint } from './store.js';

/** Most index leaves per /v1/index answer. */
export const INDEX_PAGE_MAX = 10_000;
const U64 = /^(0|[1-9][0-9]{0,19})$/;
const METER = /^[A-Za-z0-9._-]{1,64}$/;

class Bad extends Error {}
type Query = Record<string, unknown>;

function params(q: Query, allowed: string[]): void {
  for (const k of Object.keys(q)) if (!allowed.includes(k)) throw new Bad(`unknown query parameter '${k.slice(0, 40)}'`);
}
function u64(q: Query, name: string, fallback?: bigint): bigint {
  const v = q[name];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'string' || !U64.test(v) || BigInt(v) >= 1n << 64n) throw new Bad(`query parameter '${name}' must be a decimal u64`);
  return BigInt(v);
}
function meter(q: Query): string {
  const v = q.meter;
  if (typeof v !== 'string' || !METER.test(v)) throw new Bad("query parameter 'meter' must be a meter id (1..64 characters of A-Z a-z 0-9 . _ -)");
  return v;
}

export interface MeterIndexRouteDeps {
  store: LedgerStore;
  log: LedgerLog;
  /** The checkpoint as served (with witness cosignatures when configured). */
  served(cp: StoredCheckpoint): string;
}

export function registerMeterIndexRoutes<L extends FastifyBaseLogger>(
  app: FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, L>,
  d: MeterIndexRouteDeps,
): void {
  const handle = <T>(reply: FastifyReply, f: () => T): T | FastifyReply => {
    try {
      return f();
    } catch (err) {
      if (err instanceof Bad || (err instanceof ProtocolError && err.code === 'MERKLE_RANGE')) {
        return reply.code(400).send({ error: { code: 'BAD_PARAMETER', message: err.message } });
      }
      throw err;
    }
  };
  const source: MeterTreeSource = { meterLeaves: (id, start, count) => d.store.meterLeaves(id, start, count) };

  app.get('/v1/index', async (req, reply) =>
    handle(reply, () => {
      const q = req.query as Query;
      params(q, ['start', 'count']);
      const start = u64(q, 'start', 0n);
      const count = u64(q, 'count', BigInt(INDEX_PAGE_MAX));
      if (count < 1n || count > BigInt(INDEX_PAGE_MAX)) throw new Bad(`query parameter 'count' must be from 1 to ${INDEX_PAGE_MAX}`);
      // the checkpoint and the index in one synchronous turn: the leaves are the ones it commits
      const cp = d.log.checkpointNow();
      const index = d.log.index();
      const from = Number(start > BigInt(index.meters) ? BigInt(index.meters) : start);
      return {
        checkpoint: d.served(cp),
        treeSize: cp.size.toString(),
        meters: index.meters,
        start: from,
        leaves: index.page(from, Number(count)).map(wireIndexLeaf),
      };
    }));

  app.get('/v1/index/proof', async (req, reply) =>
    handle(reply, () => {
      const q = req.query as Query;
      params(q, ['meter']);
      const id = meter(q);
      const cp = d.log.checkpointNow();
      const index = d.log.index();
      const position = index.position(id); // O(log meters): a descent of the index tree (index-tree.ts)
      if (position < 0) return reply.code(404).send({ error: { code: 'NOT_FOUND', message: `meter ${id} is not in the index` } });
      return {
        checkpoint: d.served(cp),
        position,
        meters: index.meters,
        leaf: wireIndexLeaf(index.leaf(position)),
        proof: index.proof(position).map(toBase64), // RFC 9162 §2.1.3.1, the bytes of protocol indexInclusionProof
      };
    }));

  const treeQuery = (q: Query): { id: string; size: bigint; start: bigint; end: bigint } => {
    params(q, ['meter', 'size', 'start', 'end']);
    const id = meter(q);
    const size = u64(q, 'size');
    // the meter's tree must have at least `size` leaves (positions in seq order; no index snapshot needed)
    if (size < 1n || d.store.meterLeaves(id, size - 1n, 1).length !== 1) throw new Bad(`query parameter 'size' must be from 1 to the meter's tree size`);
    return { id, size, start: u64(q, 'start'), end: u64(q, 'end') };
  };

  app.get('/v1/meter/node', async (req, reply) =>
    handle(reply, () => {
      const t = treeQuery(req.query as Query);
      return meterNodeAnswer(source, t.id, t.size, t.start, t.end);
    }));

  app.get('/v1/meter/range', async (req, reply) =>
    handle(reply, () => {
      const t = treeQuery(req.query as Query);
      return meterRangeAnswer(source, t.id, t.size, t.start, t.end);
    }));
}
