// The read-only query API (fastify). No write routes: meters reach the ledger only over MQTT, and the
// collection system reaches this API only through the air-gap controller during a window. Every query
// parameter is validated; a bad one is a 400 naming it. u64 values travel as decimal strings.
import Fastify, { LogController, type FastifyReply } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { toHex } from '@meterseal/protocol';
import { LedgerError, describe } from './errors.js';
import type { LedgerLog } from './log.js';
import { keyHistory } from './exchange.js';
import { receiptFor, type ReceiptDeps } from './receipt.js';
import { registerMeterIndexRoutes } from './meter-index-http.js';
import type { LedgerStats } from './stats.js';
import type { LedgerStore } from './store.js';
import { registerTileRoutes } from './tiles.js';
import { registerAirgapEventRoutes, type AirgapEventStore } from './airgap-events.js';
import type { WitnessAttacher } from './witness-attach.js';
import type { NoteSigner } from '@meterseal/protocol';
import type { PeriodLogSet } from './period-set.js';
import { registerPeriodRoutes } from './period-http.js';

export interface HttpDeps {
  store: LedgerStore;
  log: LedgerLog;
  stats(): LedgerStats;
  /** Witness cosignatures to append to the served checkpoints; absent: the bare signed note. */
  witnesses?: Pick<WitnessAttacher, 'attach'>;
  maxRangePerRequest: number;
  logger: Logger;
  /** GET /receipt (receipt.ts): the ledger's config picks the checkpoint (witnessQuorum). */
  receipts?: ReceiptDeps;
  /** GET /v1/trust: the trust file a verifier needs for this ledger (protocol TrustFileSchema). */
  trust?: Record<string, unknown>;
  /** POST/GET /v1/airgap-events (airgap-events.ts): the controller's signed window records. */
  airgapEvents?: AirgapEventStore;
  /** Log rotation by period (period-http.ts): GET /periods and /period/<id>/… (needs `receipts`). */
  periods?: { set: PeriodLogSet; signer: NoteSigner };
}

const U64_MAX = (1n << 64n) - 1n;

class BadParameter extends Error {}

type Query = Record<string, unknown>;

/** A required decimal u64 query parameter (no sign, no leading zeros, ≤ 2^64-1). */
function u64Param(q: Query, name: string): bigint {
  const v = q[name];
  if (v === undefined) throw new BadParameter(`query parameter '${name}' is required`);
  if (typeof v !== 'string' || !/^(0|[1-9][0-9]{0,19})$/.test(v) || BigInt(v) > U64_MAX) {
    throw new BadParameter(`query parameter '${name}' must be a decimal integer from 0 to ${U64_MAX}`);
  }
  return BigInt(v);
}

function stringParam(q: Query, name: string, pattern: RegExp, what: string): string {
  const v = q[name];
  if (v === undefined) throw new BadParameter(`query parameter '${name}' is required`);
  if (typeof v !== 'string' || !pattern.test(v)) throw new BadParameter(`query parameter '${name}' must be ${what}`);
  return v;
}

function onlyParams(q: Query, allowed: string[]): void {
  for (const k of Object.keys(q)) if (!allowed.includes(k)) throw new BadParameter(`unknown query parameter '${k.slice(0, 40)}'`);
}

function badRequest(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(400).send({ error: { code: 'BAD_PARAMETER', message } });
}

export function buildHttp(d: HttpDeps) {
  const app = Fastify({
    loggerInstance: d.logger,
    logController: new LogController({ disableRequestLogging: true }), // per-request lines would drown the log
    bodyLimit: 1024, // no route takes a body
  });

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof BadParameter) return badRequest(reply, err.message);
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) return reply.code(status).send({ error: { code: 'BAD_REQUEST', message: err instanceof Error ? err.message : String(err) } });
    d.logger.error({ err: describe(err) }, 'http request failed');
    return reply.code(500).send({ error: { code: 'INTERNAL', message: err instanceof LedgerError ? err.code : 'internal error' } });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 100)}` } }));

  // c2sp.org/signed-note: the witnesses' cosignature lines follow the ledger's own signature line
  const served = (cp: { size: bigint; note: string }): string => (d.witnesses ? d.witnesses.attach(cp) : cp.note);

  app.get('/healthz', async () => ({ ok: true, treeSize: d.log.size.toString() }));

  // c2sp.org/tlog-tiles: the checkpoint SHOULD NOT be cached for more than a few seconds
  app.get('/checkpoint', async (_req, reply) =>
    reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache').send(served(d.log.latestCheckpoint())));

  if (d.airgapEvents) registerAirgapEventRoutes(app, d.airgapEvents);
  registerTileRoutes(app, d.store); // GET /tile/<L>/<N>[.p/<W>] and /tile/entries/<N>[.p/<W>], c2sp.org/tlog-tiles
  registerMeterIndexRoutes(app, { store: d.store, log: d.log, served }); // GET /v1/index, /v1/index/proof, /v1/meter/node, /v1/meter/range
  if (d.periods && d.receipts) registerPeriodRoutes(app, { periods: d.periods.set, signer: d.periods.signer, receipts: d.receipts, served, logger: d.logger, maxRangePerRequest: d.maxRangePerRequest }); // GET /periods, /period/<id>/…

  app.get('/v1/meters', async (req) => {
    onlyParams(req.query as Query, []);
    return { meters: d.store.listMeters().map((m) => ({ meterId: m.meterId, registeredAt: new Date(m.registeredAtMs).toISOString(), bindings: m.bindings })) };
  });

  // issue 5: a meter's key history — identity key, operator events, every session key and the seqs it covers
  app.get('/v1/meters/:id/keys', async (req, reply) => {
    onlyParams(req.query as Query, []);
    const id = (req.params as { id: string }).id;
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new BadParameter('the meter id must be 1..64 characters of A-Z a-z 0-9 . _ -');
    const h = keyHistory(d.store, id);
    return h ?? reply.code(404).send({ error: { code: 'UNKNOWN_METER', message: `meter ${id} is not registered` } });
  });

  app.get('/v1/anchors', async (req) => {
    const q = req.query as Query;
    onlyParams(q, ['meter', 'from', 'to']);
    const meterId = stringParam(q, 'meter', /^[A-Za-z0-9._-]{1,64}$/, 'a meter id (1..64 characters of A-Z a-z 0-9 . _ -)');
    const from = u64Param(q, 'from');
    const to = u64Param(q, 'to');
    if (to < from) throw new BadParameter(`query parameter 'to' (${to}) must not be less than 'from' (${from})`);
    if (to - from > BigInt(d.maxRangePerRequest)) {
      throw new BadParameter(`query parameters 'from'..'to' span ${to - from}; at most ${d.maxRangePerRequest} (maxRangePerRequest) per request`);
    }
    // A checkpoint that covers every anchor returned, so each has an inclusion proof against its root.
    const cp = d.log.checkpointNow();
    const rows = d.store.anchorsInRange(meterId, from, to, d.maxRangePerRequest + 1).filter((a) => a.leafIndex < cp.size);
    return {
      checkpoint: served(cp),
      treeSize: cp.size.toString(),
      anchors: rows.map((a) => ({ seq: a.seq.toString(), readingHash: toHex(a.readingHash), keyId: toHex(a.keyId), leafIndex: a.leafIndex.toString() })),
    };
  });

  app.get('/v1/proof/inclusion', async (req) => {
    const q = req.query as Query;
    onlyParams(q, ['index', 'size']);
    const index = u64Param(q, 'index');
    const size = u64Param(q, 'size');
    const treeSize = d.log.size;
    if (size < 1n || size > treeSize) throw new BadParameter(`query parameter 'size' must be from 1 to the tree size ${treeSize}`);
    if (index >= size) throw new BadParameter(`query parameter 'index' must be less than 'size' (${size})`);
    return { index: index.toString(), size: size.toString(), proof: d.log.inclusionProof(index, size).map(toHex) };
  });

  app.get('/v1/proof/consistency', async (req) => {
    const q = req.query as Query;
    onlyParams(q, ['from', 'to']);
    const from = u64Param(q, 'from');
    const to = u64Param(q, 'to');
    const treeSize = d.log.size;
    if (to > treeSize) throw new BadParameter(`query parameter 'to' must be at most the tree size ${treeSize}`);
    if (from < 1n || from > to) throw new BadParameter(`query parameter 'from' must be from 1 to 'to' (${to})`);
    return { from: from.toString(), to: to.toString(), proof: d.log.consistencyProof(from, to).map(toHex) };
  });

  app.get('/v1/stats', async () => d.stats());

  // docs/protocol.md §10.5: the anchor, the binding covering it, their tlog-proofs against one cosigned checkpoint
  app.get('/receipt', async (req, reply) => {
    const q = req.query as Query;
    onlyParams(q, ['meter', 'seq']);
    const meterId = stringParam(q, 'meter', /^[A-Za-z0-9._-]{1,64}$/, 'a meter id (1..64 characters of A-Z a-z 0-9 . _ -)');
    const seq = u64Param(q, 'seq');
    if (!d.receipts) return reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'this ledger serves no receipts' } });
    try {
      return receiptFor(d.receipts, meterId, seq);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'NOT_ANCHORED' || code === 'NOT_YET_COSIGNED') return reply.code(404).send({ error: { code, message: (err as Error).message } });
      throw err;
    }
  });

  // docs/protocol.md §10.6: what `meterseal verify --trust FILE` needs, to be copied out of band and checked
  app.get('/v1/trust', async (_req, reply) => (d.trust ? d.trust : reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'no trust file' } })));

  return app;
}

export interface HttpServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startHttp(d: HttpDeps, host: string, port: number): Promise<HttpServer> {
  const app = buildHttp(d);
  try {
    await app.listen({ host, port });
  } catch (cause) {
    await app.close().catch(() => undefined);
    throw new LedgerError('LISTEN_FAILED', `query API cannot listen on ${host}:${port}: ${describe(cause)}`, { cause });
  }
  const addr = app.server.address() as AddressInfo;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${hostInUrl}:${addr.port}`, port: addr.port, close: () => app.close() };
}
