// The period logs over the read-only API (docs/ledger.md "Log rotation by period"). The current period is
// served at the usual paths (/checkpoint, /tile/…, /v1/…, /receipt — c2sp.org/tlog-tiles, unchanged); every
// period, closed or current, also under its own prefix:
//   GET /periods                          the periods, oldest first: origin, size, closed, final checkpoint
//   GET /period/<id>/checkpoint           a closed period's final signed checkpoint (immutable), or the current one
//   GET /period/<id>/tile/…               c2sp.org/tlog-tiles of that log
//   GET /period/<id>/link                 entry 0 and its inclusion proof against that checkpoint: one
//                                         PeriodLink of protocol verifyPeriodChain (base64)
//   GET /period/<id>/receipt?meter&seq    a receipt for a reading anchored in that period
//   GET /period/<id>/v1/…                 the rest of the query API (index, meter tree nodes and ranges, anchors,
//                                         inclusion and consistency proofs, meters, stats) of that period's log,
//                                         answered by an instance of the API built on that log (buildHttp)
import type {
  FastifyBaseLogger, FastifyInstance, FastifyReply, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault,
} from 'fastify';
import { periodUnitOf, toBase64, type NoteSigner } from '@meterseal/protocol';
import type { Logger } from 'pino';
import { Rejection } from './errors.js';
import { buildHttp } from './http.js';
import { LedgerLog } from './log.js';
import type { PeriodLogSet } from './period-set.js';
import { receiptFor, type ReceiptDeps } from './receipt.js';
import { tileResponse } from './tiles.js';

export interface PeriodRoutesDeps {
  periods: PeriodLogSet;
  signer: NoteSigner;
  /** The ledger's receipt deps (config; the current period's store and log). */
  receipts: ReceiptDeps;
  /** The served form of the current period's checkpoint (with witness cosignatures). */
  served(cp: { size: bigint; note: string }): string;
  logger: Logger;
  maxRangePerRequest: number;
}

const METER = /^[A-Za-z0-9._-]{1,64}$/;
const U64 = /^(0|[1-9][0-9]{0,19})$/;

function notFound(reply: FastifyReply, code: string, message: string): FastifyReply {
  return reply.code(404).header('cache-control', 'no-store').send({ error: { code, message } });
}

function bad(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(400).send({ error: { code: 'BAD_PARAMETER', message } });
}

export function registerPeriodRoutes<L extends FastifyBaseLogger>(
  app: FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, L>,
  d: PeriodRoutesDeps,
): void {
  const logs = new Map<string, LedgerLog>();

  /** The receipt deps of one period, or undefined when there is no such period. */
  const period = (id: string): ReceiptDeps | undefined => {
    if (id === d.periods.current.period) return d.receipts;
    const store = d.periods.closedStore(id);
    if (!store) return undefined;
    let log = logs.get(id);
    if (!log) logs.set(id, (log = new LedgerLog(store, d.periods.periods().find((p) => p.period === id)!.origin, d.signer)));
    return { store, log, config: d.receipts.config };
  };
  const lookup = (reply: FastifyReply, id: unknown): ReceiptDeps | FastifyReply => {
    if (typeof id !== 'string' || periodUnitOf(id) === undefined) return bad(reply, 'the period must be YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH');
    return period(id) ?? notFound(reply, 'UNKNOWN_PERIOD', `this ledger has no log for period ${id}`);
  };
  const isCurrent = (id: string): boolean => id === d.periods.current.period;

  // the API of one period's log, not listening: requests are handed to it with inject()
  const apis = new Map<string, ReturnType<typeof buildHttp>>();
  const apiOf = (id: string, p: ReceiptDeps): ReturnType<typeof buildHttp> => {
    const key = isCurrent(id) ? '(current)' : id;
    let api = apis.get(key);
    if (!api) {
      const counters = (): Record<string, number> => p.store.counters();
      api = buildHttp({
        store: p.store, log: p.log, receipts: p, maxRangePerRequest: d.maxRangePerRequest, logger: d.logger,
        ...(isCurrent(id) ? { witnesses: { attach: (cp) => d.served(cp) } } : {}),
        stats: () => ({
          treeSize: Number(p.store.treeSize()), anchored: counters()['anchored'] ?? 0, registrations: counters()['registrations'] ?? 0,
          authPassed: counters()['auth.passed'] ?? 0, authFailed: counters()['auth.failed'] ?? 0, bindings: counters()['bindings'] ?? 0,
          rejected: {}, witnesses: { cosigned: 0, refused: 0, failed: 0 },
        }),
      });
      apis.set(key, api);
    }
    return api;
  };
  app.addHook('onClose', async () => {
    for (const api of apis.values()) await api.close();
    apis.clear();
  });

  app.get('/periods', async () => ({
    current: d.periods.current.period,
    periods: d.periods.periods().map((p) => ({
      period: p.period, origin: p.origin, closed: p.closed, size: p.size.toString(),
      ...(p.closedAtMs !== undefined ? { closedAt: new Date(p.closedAtMs).toISOString() } : {}),
      ...(p.finalCheckpoint ? { finalCheckpoint: p.finalCheckpoint } : {}),
    })),
  }));

  app.get('/period/:id/checkpoint', async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const p = lookup(reply, id);
    if (!('store' in p)) return p;
    const cp = p.log.latestCheckpoint();
    // a closed log's final checkpoint never changes; the current one SHOULD NOT be cached (c2sp.org/tlog-tiles)
    return reply.type('text/plain; charset=utf-8').header('cache-control', isCurrent(id) ? 'no-cache' : 'public, max-age=31536000, immutable')
      .send(isCurrent(id) ? d.served(cp) : cp.note);
  });

  app.get('/period/:id/tile/*', async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const p = lookup(reply, id);
    if (!('store' in p)) return p;
    if (req.url.includes('?')) return reply.code(400).send({ error: { code: 'BAD_TILE_PATH', message: 'tile paths take no query string' } });
    const r = tileResponse(p.store, req.url.slice(`/period/${id}`.length)); // the raw path: one spelling per tile
    if (r.status !== 200) return reply.code(r.status).header('cache-control', 'no-store').send({ error: { code: r.code, message: r.message } });
    return reply.code(200).header('content-type', 'application/octet-stream').header('cache-control', r.cacheControl)
      .send(Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength));
  });

  app.get('/period/:id/link', async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const p = lookup(reply, id);
    if (!('store' in p)) return p;
    const cp = p.log.latestCheckpoint();
    const first = cp.size > 0n ? p.log.entry(0n) : undefined;
    return {
      period: id,
      checkpoint: cp.note,
      ...(first ? { firstEntry: toBase64(first), firstEntryProof: p.log.inclusionProof(0n, cp.size).map(toBase64) } : {}), // RFC 9162 §2.1.3.1
    };
  });

  app.get('/period/:id/v1/*', async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const p = lookup(reply, id);
    if (!('store' in p)) return p;
    const r = await apiOf(id, p).inject({ method: 'GET', url: req.url.slice(`/period/${id}`.length) });
    for (const h of ['content-type', 'cache-control']) if (r.headers[h] !== undefined) reply.header(h, r.headers[h]);
    return reply.code(r.statusCode).send(r.rawPayload);
  });

  app.get('/period/:id/receipt', async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const q = req.query as Record<string, unknown>;
    for (const k of Object.keys(q)) if (k !== 'meter' && k !== 'seq') return bad(reply, `unknown query parameter '${k.slice(0, 40)}'`);
    if (typeof q['meter'] !== 'string' || !METER.test(q['meter'])) return bad(reply, "query parameter 'meter' must be a meter id (1..64 characters of A-Z a-z 0-9 . _ -)");
    if (typeof q['seq'] !== 'string' || !U64.test(q['seq']) || BigInt(q['seq']) >= 1n << 64n) return bad(reply, "query parameter 'seq' must be a decimal integer from 0 to 2^64-1");
    const p = lookup(reply, id);
    if (!('store' in p)) return p;
    try {
      return receiptFor(p, q['meter'], BigInt(q['seq']), { closedPeriods: false }); // this period's log only
    } catch (err) {
      if (err instanceof Rejection && (err.code === 'NOT_ANCHORED' || err.code === 'NOT_YET_COSIGNED')) return notFound(reply, err.code, err.message);
      throw err;
    }
  });
}
