// The witness's HTTP interface (fastify): POST /add-checkpoint per c2sp.org/tlog-witness, and GET /healthz.
// Bodies are read as raw bytes whatever the Content-Type, limited to MAX_REQUEST_BYTES (more → 413).
import Fastify, { LogController } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { WitnessError, describe } from './errors.js';
import { MAX_REQUEST_BYTES, TLOG_SIZE_MEDIA_TYPE, WITNESS_HEAD_MEDIA_TYPE } from './request.js';
import type { Witness } from './witness.js';

const TEXT = 'text/plain; charset=utf-8';

export function buildHttp(witness: Witness, logger: Logger) {
  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_REQUEST_BYTES,
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err, _req, reply) => {
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) return reply.code(status).type(TEXT).send(`${describe(err)}\n`);
    logger.error({ err: describe(err) }, 'witness request failed');
    return reply.code(500).type(TEXT).send('internal error\n');
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).type(TEXT).send(`no route ${req.method} ${req.url.split('?')[0]!.slice(0, 100)}\n`));

  app.get('/healthz', async () => ({ ok: true }));

  // c2sp.org/tlog-witness §add-checkpoint
  app.post('/add-checkpoint', async (req, reply) => {
    const body = Buffer.isBuffer(req.body) ? new Uint8Array(req.body.buffer, req.body.byteOffset, req.body.byteLength) : new Uint8Array(0);
    const r = witness.addCheckpoint(body);
    if (r.status === 200) return reply.code(200).type(TEXT).send(r.cosignature);
    if (r.code === 'OLD_SIZE_MISMATCH') {
      // c2sp.org/tlog-witness: 409, body = latest cosigned size in decimal + newline, Content-Type text/x.tlog.size
      return reply.code(409).type(TLOG_SIZE_MEDIA_TYPE).send(`${(r.knownSize ?? 0n).toString(10)}\n`);
    }
    if (r.code === 'LINK_REQUIRED' && r.head) {
      // extension (README "Ledgers that rotate their log"): like c2sp's 409 size answer, where this witness stands
      return reply.code(409).type(WITNESS_HEAD_MEDIA_TYPE).send(`${r.head.size.toString(10)} ${r.head.origin}\n`);
    }
    return reply.code(r.status).type(TEXT).send(`${r.code}: ${r.message}\n`);
  });

  return app;
}

export interface HttpServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startHttp(witness: Witness, logger: Logger, host: string, port: number): Promise<HttpServer> {
  const app = buildHttp(witness, logger);
  try {
    await app.listen({ host, port });
  } catch (cause) {
    await app.close().catch(() => undefined);
    throw new WitnessError('LISTEN_FAILED', `witness cannot listen on ${host}:${port}: ${describe(cause)}`, { cause });
  }
  const addr = app.server.address() as AddressInfo;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${hostInUrl}:${addr.port}`, port: addr.port, close: () => app.close() };
}
