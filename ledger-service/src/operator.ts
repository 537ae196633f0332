// The operator admin API (issue 5): a second HTTP server, separate from the read-only query API (which the
// collection system reaches through the air gap), off unless config.admin is set, loopback by default.
//   GET  /v1/admin/meters/:id        the meter's identity key and operator events (to prepare a command)
//   POST /v1/admin/revoke            {"action": hex}  an operator-signed Revocation (0x09)
//   POST /v1/admin/approve-exchange  {"action": hex}  an operator-signed MeterExchangeApproval (0x0A)
//   POST /v1/admin/import-meters     {"credential","timeMs","nonce","signature": hex/decimal, "csv": text}
// Every POST, accepted or refused, is appended to <dataDir>/operator-audit.jsonl. Log appends run
// `exclusive`ly with anchor ingest (anchor-ingest.ts), like every other request that changes the log.
import { appendFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Fastify, { LogController, type FastifyReply } from 'fastify';
import { fromHex, keyId, METER_ID_PATTERN, toHex, utf8 } from '@meterseal/protocol';
import { LedgerError, describe } from './errors.js';
import { applyExchangeApproval } from './exchange.js';
import type { LedgerDeps } from './handlers/context.js';
import { importMeters } from './import-meters.js';
import { AdminRefusal, NonceWindow, refusalFrom, verifyOperatorRequest, type OperatorCheck } from './operator-auth.js';
import { applyRevocation, revocationOf } from './revocation.js';

export const OPERATOR_AUDIT_FILE = 'operator-audit.jsonl';
export const OPERATOR_NONCE_FILE = 'operator-nonces.jsonl';

export interface AdminApiOptions {
  host: string;
  port: number;
  utilityPublicKeys: string[];
  maxSkewMs: number;
  now?: () => number;
  /** Runs a log-changing step after the anchors queued before it (AnchorIngest.exclusive). */
  exclusive: <T>(fn: () => T) => T | Promise<T>;
}

export interface AdminApi {
  url: string;
  close(): Promise<void>;
}

function hexField(body: Record<string, unknown>, name: string, length?: number): Uint8Array {
  const v = body[name];
  if (typeof v !== 'string' || v.length > 8192) throw new AdminRefusal('BAD_REQUEST', `"${name}" must be a hex string`);
  try {
    return fromHex(v, length);
  } catch (cause) {
    throw new AdminRefusal('BAD_REQUEST', `"${name}": ${describe(cause)}`, 400, { cause });
  }
}

export async function startAdminApi(deps: LedgerDeps, o: AdminApiOptions): Promise<AdminApi> {
  const now = o.now ?? Date.now;
  const check: OperatorCheck = { trustedIssuers: o.utilityPublicKeys.map((k) => fromHex(k, 32)), nowMs: now, maxSkewMs: o.maxSkewMs };
  const nonces = new NonceWindow(2 * o.maxSkewMs, 100_000, join(deps.config.dataDir, OPERATOR_NONCE_FILE), now()); // survives restarts
  const auditPath = join(deps.config.dataDir, OPERATOR_AUDIT_FILE);
  const audit = (e: Record<string, unknown>): void =>
    appendFileSync(auditPath, JSON.stringify({ at: new Date(now()).toISOString(), ...e }) + '\n', { mode: 0o600 });

  const app = Fastify({ logController: new LogController({ disableRequestLogging: true }), bodyLimit: 17 * 1024 * 1024 });
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) =>
    reply.code(err.statusCode && err.statusCode < 500 ? err.statusCode : 500).send({ ok: false, error: { code: 'BAD_REQUEST', message: err.message } }));
  // an unknown route is refused like everything else: JSON with an error code (found by http.fuzz.test.ts)
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ ok: false, error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 100)}` } }));

  const post = (op: string, run: (body: Record<string, unknown>) => Promise<Record<string, unknown>>) =>
    app.post(`/v1/admin/${op}`, async (req, reply: FastifyReply) => {
      const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
      try {
        const result = await run(body);
        audit({ op, ok: true, ...result });
        return reply.send({ ok: true, ...result });
      } catch (err) {
        const r = refusalFrom(err instanceof LedgerError && !(err instanceof AdminRefusal) ? new AdminRefusal(err.code, err.message, 500) : err);
        audit({ op, ok: false, code: r.reason, message: r.message.slice(0, 300) });
        deps.logger.warn({ op, code: r.reason, err: r.message }, 'operator command refused');
        const lines = (r as { lines?: unknown }).lines; // import-meters: every refused line with its number
        return reply.code(r.status).send({ ok: false, error: { code: r.reason, message: r.message, ...(lines ? { lines } : {}) } });
      }
    });

  app.get('/v1/admin/meters/:id', async (req, reply) => {
    const id = (req.params as { id: string }).id;
    if (!METER_ID_PATTERN.test(id)) return reply.code(400).send({ ok: false, error: { code: 'BAD_REQUEST', message: 'not a meter id' } });
    const m = deps.store.getMeter(id);
    if (!m) return reply.code(404).send({ ok: false, error: { code: 'UNKNOWN_METER', message: `meter ${id} is not registered` } });
    const revoked = revocationOf(deps.store, m);
    return {
      ok: true, meterId: id, identityPublicKey: toHex(m.identityPublicKey), identityKeyId: toHex(keyId(m.identityPublicKey)),
      registrationIndex: m.registrationIndex.toString(),
      revoked: revoked ? { leafIndex: revoked.leafIndex.toString(), reason: revoked.detail } : null,
      events: deps.store.meterEvents(id).map((e) => ({
        leafIndex: e.leafIndex.toString(), event: e.event, identityKeyId: toHex(e.identityKeyId), detail: e.detail,
        ...(e.newIdentityPublicKey ? { newIdentityPublicKey: toHex(e.newIdentityPublicKey) } : {}), at: new Date(e.atMs).toISOString(),
      })),
    };
  });

  const action = (apply: typeof applyRevocation | typeof applyExchangeApproval) => async (body: Record<string, unknown>) => {
    const signed = hexField(body, 'action');
    try {
      return { ...(await o.exclusive(() => apply(deps, signed, check))) };
    } catch (err) {
      throw refusalFrom(err);
    }
  };
  post('revoke', action(applyRevocation));
  post('approve-exchange', action(applyExchangeApproval));
  post('import-meters', async (body) => {
    if (typeof body.csv !== 'string') throw new AdminRefusal('BAD_REQUEST', '"csv" must be the CSV text');
    if (typeof body.timeMs !== 'string' || !/^[0-9]{1,16}$/.test(body.timeMs)) throw new AdminRefusal('BAD_REQUEST', '"timeMs" must be a decimal string');
    const csv = body.csv;
    const credential = verifyOperatorRequest('import-meters', {
      credential: hexField(body, 'credential'), timeMs: BigInt(body.timeMs), nonce: hexField(body, 'nonce', 16), signature: hexField(body, 'signature', 64),
    }, utf8.encode(csv), check, nonces);
    const r = importMeters(csv, deps.config.whitelistFile);
    if (r.errors.length) {
      const refusal = new AdminRefusal('INVALID_CSV', `${r.errors.length} line(s) refused; nothing imported`, 422);
      Object.assign(refusal, { lines: r.errors });
      throw refusal;
    }
    return { operatorId: credential.operatorId, added: r.added, unchanged: r.unchanged, written: r.written };
  });

  try {
    await app.listen({ host: o.host, port: o.port });
  } catch (cause) {
    await app.close();
    throw new LedgerError('LISTEN_FAILED', `admin API could not listen on ${o.host}:${o.port}: ${describe(cause)}`, { cause });
  }
  const addr = app.server.address() as AddressInfo;
  return { url: `http://${o.host}:${addr.port}`, close: () => app.close() };
}
