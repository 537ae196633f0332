// The ledger's read-only HTTP query API as the collector uses it (reached only through the air-gap relay;
// docs/ledger.md §Queries). Every path is a GET:
//   GET /v1/index?start=I&count=C                      {"checkpoint","treeSize","meters","start","leaves":[index leaf…]}
//   GET /v1/meter/node?meter=ID&size=N&start=A&end=B   {"children":[…2]} or {"leaves":[{seq,keyId,readingHash}…]}
//   GET /v1/proof/consistency?from=M&to=N              {"proof":[hex…]} (RFC 9162 §2.1.4)
//   GET /v1/proof/inclusion?index=I&size=N             {"proof":[hex…]} (RFC 9162 §2.1.3)
// A rotating ledger (docs/ledger.md §"Log rotation by period") also answers
//   GET /periods                                       {"current","periods":[{period,origin,closed,size,finalCheckpoint?}…]}
//   GET /period/<id>/link                              {"checkpoint","firstEntry","firstEntryProof"} (base64)
// and every /v1/… path above under /period/<id>; the methods take the period as their last argument.
// Everything the ledger answers is checked against these shapes; anything else is LEDGER_BAD_RESPONSE.
// Bytes received and requests made are counted (what crossed the air gap).
import { Agent, get, type IncomingMessage } from 'node:http';
import { z } from 'zod';
import {
  ProtocolError, fromBase64, fromHex, parseWireAnchor, periodUnitOf, parseWireChild, parseWireIndexLeaf, type Anchor, type MeterIndexLeaf, type ParsedChild,
} from '@meterseal/protocol';
import { CollectorError } from './errors.js';

/** Index leaves per request (the ledger's limit). */
export const INDEX_PAGE = 10_000;
const MAX_BODY_BYTES = 16 * 1024 * 1024;

const decimal = z.union([z.string().regex(/^(0|[1-9][0-9]{0,19})$/), z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)]);

const IndexBody = z.looseObject({
  checkpoint: z.string().max(64 * 1024),
  treeSize: decimal,
  meters: z.number().int().nonnegative(),
  start: z.number().int().nonnegative(),
  leaves: z.array(z.unknown()).max(INDEX_PAGE),
});
const NodeBody = z.union([
  z.looseObject({ children: z.array(z.unknown()).length(2) }),
  z.looseObject({ leaves: z.array(z.unknown()).max(64) }),
]);
const ConsistencyBody = z.looseObject({ proof: z.array(z.string().regex(/^[0-9a-fA-F]{64}$/)).max(128) });
const PeriodId = z.string().max(13).refine((id) => periodUnitOf(id) !== undefined, 'not a period id (YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH)');
const PeriodsBody = z.looseObject({
  current: PeriodId,
  periods: z.array(z.looseObject({
    period: PeriodId, origin: z.string().max(300), closed: z.boolean(), size: decimal, finalCheckpoint: z.string().max(64 * 1024).optional(),
  })).max(100_000),
});
const B64 = z.string().max(64 * 1024).regex(/^[A-Za-z0-9+/]*={0,2}$/);
const LinkBody = z.looseObject({ checkpoint: z.string().max(64 * 1024), firstEntry: B64.optional(), firstEntryProof: z.array(B64).max(128).optional() });

/** One period log as /periods lists it (unverified: the chain and the signatures are checked by the caller). */
export interface PeriodEntry {
  period: string;
  origin: string;
  closed: boolean;
  size: bigint;
  finalCheckpoint?: string;
}

/** One link of the period chain as the ledger serves it (protocol PeriodLink, unverified). */
export interface PeriodLinkAnswer {
  checkpoint: string;
  firstEntry?: Uint8Array;
  firstEntryProof?: Uint8Array[];
}

export interface IndexPage {
  checkpointNote: string;
  treeSize: bigint;
  meters: number;
  start: number;
  leaves: MeterIndexLeaf[];
}

export type MeterNode = { children: [ParsedChild, ParsedChild] } | { leaves: Anchor[] };

export interface LedgerClientOptions {
  /** Aborts every request (the air-gap window closed). */
  signal?: AbortSignal;
  /** Per request (default 30 s). */
  timeoutMs?: number;
}

export class LedgerClient {
  readonly baseUrl: string;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 2 });
  readonly #o: LedgerClientOptions;
  #bytes = 0;
  #requests = 0;

  constructor(baseUrl: string, options: LedgerClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.#o = options;
  }

  /** Drops the kept-alive connections (the relay is about to close anyway). */
  close(): void {
    this.#agent.destroy();
  }

  /** Bytes of answers received so far (bodies; what crossed the gap towards the collector). */
  get bytesReceived(): number {
    return this.#bytes;
  }

  /** Requests made so far (round trips across the gap). */
  get requests(): number {
    return this.#requests;
  }

  /** The path prefix of a period's log ('' for the current log at the usual paths). */
  #at(period: string | undefined): string {
    if (period === undefined) return '';
    // the id goes into a path: only a well-formed period id (it came from /periods, already checked there)
    if (periodUnitOf(period) === undefined) throw new CollectorError('LEDGER_BAD_RESPONSE', `"${period.slice(0, 40)}" is not a period id`);
    return `/period/${period}`;
  }

  /** The rotating ledger's period logs, oldest first (404 from a ledger that does not rotate: LEDGER_BAD_RESPONSE). */
  async periods(): Promise<{ current: string; periods: PeriodEntry[] }> {
    const body = this.#parse(PeriodsBody, await this.#get('/periods'), '/periods');
    return {
      current: body.current,
      periods: body.periods.map((p) => ({ period: p.period, origin: p.origin, closed: p.closed, size: BigInt(p.size), ...(p.finalCheckpoint === undefined ? {} : { finalCheckpoint: p.finalCheckpoint }) })),
    };
  }

  /** Entry 0 of a period's log and its inclusion proof against that log's checkpoint (one PeriodLink). */
  async periodLink(period: string): Promise<PeriodLinkAnswer> {
    const body = this.#parse(LinkBody, await this.#get(`${this.#at(period)}/link`), '/period/<id>/link');
    return {
      checkpoint: body.checkpoint,
      ...(body.firstEntry === undefined ? {} : { firstEntry: fromBase64(body.firstEntry), firstEntryProof: (body.firstEntryProof ?? []).map((h) => fromBase64(h)) }),
    };
  }

  /** PATH(index, D[0:size]), RFC 9162 §2.1.3.1 (unverified). */
  async inclusionProof(index: bigint, size: bigint, period?: string): Promise<Uint8Array[]> {
    const body = this.#parse(ConsistencyBody, await this.#get(`${this.#at(period)}/v1/proof/inclusion?index=${index}&size=${size}`), '/v1/proof/inclusion');
    return body.proof.map((h) => fromHex(h.toLowerCase(), 32));
  }

  async indexPage(start: number, count = INDEX_PAGE, period?: string): Promise<IndexPage> {
    const body = this.#parse(IndexBody, await this.#get(`${this.#at(period)}/v1/index?start=${start}&count=${count}`), '/v1/index');
    return {
      checkpointNote: body.checkpoint,
      treeSize: BigInt(body.treeSize),
      meters: body.meters,
      start: body.start,
      leaves: this.#wire('/v1/index', () => body.leaves.map(parseWireIndexLeaf)),
    };
  }

  /** Node [start, end) of the meter's tree of `size` leaves (unverified: the caller checks it against its parent). */
  async meterNode(meterId: string, size: bigint, start: bigint, end: bigint, period?: string): Promise<MeterNode> {
    const path = `${this.#at(period)}/v1/meter/node?meter=${encodeURIComponent(meterId)}&size=${size}&start=${start}&end=${end}`;
    const body = this.#parse(NodeBody, await this.#get(path), '/v1/meter/node');
    const { children, leaves } = body as { children?: unknown[]; leaves?: unknown[] };
    return this.#wire('/v1/meter/node', () =>
      children !== undefined
        ? { children: [parseWireChild(children[0]), parseWireChild(children[1])] as [ParsedChild, ParsedChild] }
        : { leaves: (leaves ?? []).map((l) => parseWireAnchor(l, meterId)) });
  }

  /** PROOF(from, D[0:to]), RFC 9162 §2.1.4.1 (unverified). */
  async consistencyProof(from: bigint, to: bigint, period?: string): Promise<Uint8Array[]> {
    const body = this.#parse(ConsistencyBody, await this.#get(`${this.#at(period)}/v1/proof/consistency?from=${from}&to=${to}`), '/v1/proof/consistency');
    return body.proof.map((h) => fromHex(h.toLowerCase(), 32));
  }

  #wire<T>(what: string, f: () => T): T {
    try {
      return f();
    } catch (cause) {
      if (cause instanceof ProtocolError) throw new CollectorError('LEDGER_BAD_RESPONSE', `the ledger's ${what} answer is malformed: ${cause.message}`, { cause });
      throw cause;
    }
  }

  #parse<T>(schema: z.ZodType<T>, text: string, what: string): T {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new CollectorError('LEDGER_BAD_RESPONSE', `the ledger's ${what} is not JSON`, { cause });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const where = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      throw new CollectorError('LEDGER_BAD_RESPONSE', `the ledger's ${what} does not have the documented shape (${where})`, { cause: parsed.error });
    }
    return parsed.data;
  }

  #get(path: string): Promise<string> {
    const url = `${this.baseUrl}${path}`;
    const timeoutMs = this.#o.timeoutMs ?? 30_000;
    this.#requests++;
    return new Promise<string>((resolve, reject) => {
      const fail = (code: 'LEDGER_UNREACHABLE' | 'LEDGER_BAD_RESPONSE', message: string, cause?: unknown): void =>
        reject(new CollectorError(code, message, cause === undefined ? {} : { cause }));
      const req = get(url, { agent: this.#agent, timeout: timeoutMs, ...(this.#o.signal ? { signal: this.#o.signal } : {}) }, (res: IncomingMessage) => {
        // what crossed the gap: request line and headers (about 100 bytes with the path), status line and headers
        this.#bytes += path.length + 100 + res.rawHeaders.reduce((n, h) => n + h.length + 2, 17);
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          this.#bytes += chunk.length;
          if (size > MAX_BODY_BYTES) {
            req.destroy();
            fail('LEDGER_BAD_RESPONSE', `the ledger's answer to ${path.split('?')[0]} exceeds ${MAX_BODY_BYTES} bytes`);
          } else chunks.push(chunk);
        });
        res.on('error', (cause) => fail('LEDGER_UNREACHABLE', `reading the ledger's answer to ${url} failed`, cause));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) {
            fail('LEDGER_BAD_RESPONSE', `the ledger answered ${res.statusCode} to ${path.split('?')[0]}: ${text.slice(0, 200)}`);
          } else resolve(text);
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (cause) => fail('LEDGER_UNREACHABLE', `cannot reach the ledger at ${url}`, cause));
    });
  }
}
