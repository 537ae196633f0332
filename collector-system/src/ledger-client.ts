// The ledger's read-only HTTP query API as the collector uses it (reached only through the air-gap relay):
//   GET /checkpoint                                   text/plain C2SP signed note (c2sp.org/tlog-checkpoint)
//   GET /v1/meters                                    {"meters":[{"meterId",…}]}
//   GET /v1/anchors?meter=ID&from=SEQ&to=SEQ          {"checkpoint","treeSize","anchors":[{seq,readingHash,keyId,leafIndex}]}
// Everything the ledger answers is checked against these shapes; anything else is LEDGER_BAD_RESPONSE.
import { Agent, get, type IncomingMessage } from 'node:http';
import { z } from 'zod';
import { fromHex } from '@meterseal/protocol';
import { CollectorError } from './errors.js';

/** Anchors per request: the API's limit (inclusive range, at most this many seqs). */
export const ANCHOR_PAGE = 10_000n;
const MAX_BODY_BYTES = 16 * 1024 * 1024; // 10000 anchors are about 2 MB of JSON

const decimal = z.union([z.string().regex(/^(0|[1-9][0-9]{0,19})$/), z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)]);
const u64 = decimal.transform((v) => BigInt(v)).refine((v) => v < 1n << 64n, 'exceeds 64 bits');

const MetersBody = z.object({
  meters: z.array(
    z.looseObject({
      meterId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
      firstSeq: u64.optional(),
      lastSeq: u64.optional(),
    }),
  ),
});

const AnchorsBody = z.looseObject({
  treeSize: decimal.optional(),
  anchors: z.array(
    z.looseObject({
      seq: u64,
      readingHash: z.string().regex(/^[0-9a-fA-F]{64}$/),
      keyId: z.string().regex(/^[0-9a-fA-F]{16}$/),
      leafIndex: decimal.optional(),
    }),
  ),
});

export interface LedgerMeter {
  meterId: string;
  /** Present if the ledger reports them: the range of seqs it holds for the meter. */
  firstSeq?: bigint;
  lastSeq?: bigint;
}

export interface LedgerAnchor {
  seq: bigint;
  readingHash: Uint8Array;
  keyId: Uint8Array;
}

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

  constructor(baseUrl: string, options: LedgerClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.#o = options;
  }

  /** Drops the kept-alive connections (the relay is about to close anyway). */
  close(): void {
    this.#agent.destroy();
  }

  async checkpointNote(): Promise<string> {
    return this.#get('/checkpoint');
  }

  async meters(): Promise<LedgerMeter[]> {
    const body = this.#parse(MetersBody, await this.#get('/v1/meters'), '/v1/meters');
    return body.meters.map((m) => ({
      meterId: m.meterId,
      ...(m.firstSeq === undefined ? {} : { firstSeq: m.firstSeq }),
      ...(m.lastSeq === undefined ? {} : { lastSeq: m.lastSeq }),
    }));
  }

  /** The meter's anchors with from <= seq <= to (to - from < ANCHOR_PAGE), ascending, each seq once. */
  async anchors(meterId: string, from: bigint, to: bigint): Promise<LedgerAnchor[]> {
    const path = `/v1/anchors?meter=${encodeURIComponent(meterId)}&from=${from}&to=${to}`;
    const body = this.#parse(AnchorsBody, await this.#get(path), '/v1/anchors');
    let previous = -1n;
    return body.anchors.map((a) => {
      if (a.seq < from || a.seq > to || a.seq <= previous) {
        throw new CollectorError('LEDGER_BAD_RESPONSE', `the ledger listed seq ${a.seq} for ${meterId} outside or out of order in ${from}..${to}`);
      }
      previous = a.seq;
      return { seq: a.seq, readingHash: fromHex(a.readingHash.toLowerCase(), 32), keyId: fromHex(a.keyId.toLowerCase(), 8) };
    });
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
    return new Promise<string>((resolve, reject) => {
      const fail = (code: 'LEDGER_UNREACHABLE' | 'LEDGER_BAD_RESPONSE', message: string, cause?: unknown): void =>
        reject(new CollectorError(code, message, cause === undefined ? {} : { cause }));
      const req = get(url, { agent: this.#agent, timeout: timeoutMs, ...(this.#o.signal ? { signal: this.#o.signal } : {}) }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
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
