// The ledger's record of air-gap windows (issue 6): the air-gap controller submits a signed AirgapWindow
// (protocol/src/airgap-window.ts, type 0x14) for every open and close, over the ledger's side of the gap —
// so recording never depends on the window being open. The ledger checks the signature against the
// configured controller keys, stores the record as received, and lists them. Its own SQLite file, so the
// log's schema is untouched.
//   POST /v1/airgap-events   body: application/octet-stream, the signed record (≤ 1024 bytes)
//   GET  /v1/airgap-events?limit=N   newest first
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import { ProtocolError, fromHex, verifyAirgapWindow, type AirgapWindowRecord } from '@meterseal/protocol';

export const AIRGAP_EVENTS_FILE = 'airgap-events.sqlite';

export interface AirgapEvent {
  windowId: string;
  event: 'open' | 'close';
  reason: string;
  driver: string;
  openedAt: string;
  closesAt: string;
  closedAt: string | null;
  closedBy: string | null;
  bytesToTarget: string | null;
  bytesFromTarget: string | null;
  refusedRequests: number | null;
  /** Hex of the controller key that signed it. */
  controllerKey: string;
  receivedAt: string;
  /** The signed record as received (hex): anyone can re-verify it. */
  signed: string;
}

const iso = (ms: bigint): string => new Date(Number(ms)).toISOString();

export class AirgapEventStore {
  readonly #db: Database.Database;
  readonly #keys: Uint8Array[];

  constructor(dataDir: string, controllerKeysHex: readonly string[]) {
    this.#keys = controllerKeysHex.map((k) => fromHex(k));
    this.#db = new Database(join(dataDir, AIRGAP_EVENTS_FILE));
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.exec(`CREATE TABLE IF NOT EXISTS airgap_events (
      received_seq INTEGER PRIMARY KEY AUTOINCREMENT,
      window_id TEXT NOT NULL, event TEXT NOT NULL, json TEXT NOT NULL, signed BLOB NOT NULL,
      UNIQUE (window_id, event))`);
  }

  get configured(): boolean {
    return this.#keys.length > 0;
  }

  /** Verifies and stores one signed record. "duplicate" for the same bytes again; CONFLICT for different ones. */
  submit(signed: Uint8Array, nowMs: number): { status: 'stored' | 'duplicate'; event: AirgapEvent } {
    let record: AirgapWindowRecord | undefined;
    let signer: Uint8Array | undefined;
    let last: unknown;
    for (const key of this.#keys) {
      try {
        record = verifyAirgapWindow(signed, key);
        signer = key;
        break;
      } catch (err) {
        last = err;
        if (err instanceof ProtocolError && err.code !== 'BAD_SIGNATURE') throw err; // malformed: same for every key
      }
    }
    if (!record || !signer) throw last instanceof Error ? last : new ProtocolError('BAD_SIGNATURE', 'no controller key configured');
    const event: AirgapEvent = {
      windowId: record.windowId,
      event: record.event,
      reason: record.reason,
      driver: record.driver,
      openedAt: iso(record.openedAtMs),
      closesAt: iso(record.closesAtMs),
      closedAt: record.close ? iso(record.close.closedAtMs) : null,
      closedBy: record.close?.closedBy ?? null,
      bytesToTarget: record.close ? record.close.bytesToTarget.toString() : null,
      bytesFromTarget: record.close ? record.close.bytesFromTarget.toString() : null,
      refusedRequests: record.close?.refusedRequests ?? null,
      controllerKey: Buffer.from(signer).toString('hex'),
      receivedAt: new Date(nowMs).toISOString(),
      signed: Buffer.from(signed).toString('hex'),
    };
    const existing = this.#db.prepare('SELECT json, signed FROM airgap_events WHERE window_id = ? AND event = ?').get(record.windowId, record.event) as
      | { json: string; signed: Buffer }
      | undefined;
    if (existing) {
      if (Buffer.compare(existing.signed, Buffer.from(signed)) !== 0) throw new ProtocolError('CONFLICT', `a different ${record.event} record for window ${record.windowId} is already stored`);
      return { status: 'duplicate', event: JSON.parse(existing.json) as AirgapEvent };
    }
    this.#db.prepare('INSERT INTO airgap_events (window_id, event, json, signed) VALUES (?, ?, ?, ?)').run(record.windowId, record.event, JSON.stringify(event), Buffer.from(signed));
    return { status: 'stored', event };
  }

  list(limit: number): AirgapEvent[] {
    return (this.#db.prepare('SELECT json FROM airgap_events ORDER BY received_seq DESC LIMIT ?').all(limit) as { json: string }[]).map((r) => JSON.parse(r.json) as AirgapEvent);
  }

  /** Sum of the recorded windows' open time, in seconds (close records only). */
  openSeconds(): number {
    return this.list(1_000_000)
      .filter((e) => e.event === 'close' && e.closedAt)
      .reduce((s, e) => s + (Date.parse(e.closedAt!) - Date.parse(e.openedAt)) / 1000, 0);
  }

  count(): { open: number; close: number } {
    const rows = this.#db.prepare('SELECT event, count(*) AS n FROM airgap_events GROUP BY event').all() as { event: string; n: number }[];
    return { open: rows.find((r) => r.event === 'open')?.n ?? 0, close: rows.find((r) => r.event === 'close')?.n ?? 0 };
  }

  close(): void {
    this.#db.close();
  }
}

/** The two routes, on the query API. */
export function registerAirgapEventRoutes<L extends FastifyBaseLogger>(
  app: FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, L>,
  store: AirgapEventStore, now: () => number = Date.now): void {
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: 1024 }, (_req, body, done) => done(null, body));
  app.post('/v1/airgap-events', async (req, reply) => {
    if (!store.configured) return reply.code(403).send({ error: { code: 'NO_CONTROLLER_KEY', message: 'this ledger has no airgapControllerKeys configured' } });
    if (!Buffer.isBuffer(req.body)) return reply.code(415).send({ error: { code: 'BAD_REQUEST', message: 'the body must be application/octet-stream' } });
    try {
      const { status, event } = store.submit(new Uint8Array(req.body), now());
      return reply.code(status === 'stored' ? 201 : 200).send({ status, windowId: event.windowId, event: event.event });
    } catch (err) {
      if (err instanceof ProtocolError) {
        const code = err.code === 'BAD_SIGNATURE' ? 403 : err.code === 'CONFLICT' ? 409 : 400;
        return reply.code(code).send({ error: { code: err.code, message: err.message } });
      }
      throw err;
    }
  });
  app.get('/v1/airgap-events', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const extra = Object.keys(q).find((k) => k !== 'limit');
    if (extra !== undefined) return reply.code(400).send({ error: { code: 'BAD_PARAMETER', message: `unknown query parameter '${extra.slice(0, 40)}'` } });
    const raw = q.limit ?? '100';
    if (typeof raw !== 'string' || !/^[1-9][0-9]{0,3}$/.test(raw)) return reply.code(400).send({ error: { code: 'BAD_PARAMETER', message: "query parameter 'limit' must be 1..9999" } });
    return { events: store.list(Number(raw)) };
  });
}
