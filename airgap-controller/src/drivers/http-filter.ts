// The relay's HTTP policy (README §Policy): only read-only reconciliation requests cross the gap. Each request
// head is parsed strictly (RFC 9112 §2-§5) with a size limit, and only GET without a body on an allowlisted
// path is forwarded. Pure parsing and a bounded incremental framer; nothing here does I/O.
import { periodStartMs, periodUnitOf } from '@meterseal/protocol';
import { AirgapError } from '../errors.js';

/** Longest request head (request line + headers + CRLFCRLF) the relay buffers. */
export const MAX_HEAD_BYTES = 8192;
export const MAX_HEADERS = 64;

/** In an allowlist entry "/period/_/…", the segment "_" stands for one period id (checked by isPeriodId). */
export const PERIOD_SEGMENT = '_';
const PERIOD_ENTRY = `/period/${PERIOD_SEGMENT}/`;

/**
 * What the ledger's query API serves for reconciliation: exact paths, or prefixes ending in "/". Proofs,
 * tiles, the meter index and per-meter nodes; not /v1/stats, /healthz or anything that writes. A rotating
 * ledger (docs/ledger.md §"Log rotation by period"): its list of periods, and the same read paths of each
 * period's log under /period/<id>/, plus the chain link — not its receipts, anchors or stats.
 */
export const DEFAULT_HTTP_ALLOWLIST: readonly string[] = [
  '/checkpoint',
  '/tile/',
  '/v1/proof/',
  '/v1/anchors',
  '/v1/meters',
  '/v1/index',
  '/v1/index/',
  '/v1/meter/',
  '/periods',
  '/period/_/checkpoint',
  '/period/_/link',
  '/period/_/tile/',
  '/period/_/v1/index',
  '/period/_/v1/index/',
  '/period/_/v1/meter/',
  '/period/_/v1/proof/',
];

/**
 * A ledger period id (UTC): "YYYY-MM", "YYYY-MM-DD" or "YYYY-MM-DDTHH", and a real calendar month, day or hour
 * (protocol previous-log.ts, fixed patterns; nothing here is built from the input).
 */
export function isPeriodId(id: string): boolean {
  if (id.length < 7 || id.length > 13) return false;
  const unit = periodUnitOf(id);
  if (unit === undefined) return false;
  try {
    periodStartMs(id, unit);
    return true;
  } catch {
    return false;
  }
}

export interface RequestHead {
  method: string;
  /** The origin-form request-target as sent (RFC 9112 §3.2.1). */
  target: string;
  path: string;
  version: 'HTTP/1.1' | 'HTTP/1.0';
  /** Lower-cased names, in order. */
  headers: Array<[string, string]>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/; // RFC 9110 §5.6.2
const FIELD_VALUE = /^[\t\x20-\x7e]*$/; // visible ASCII, SP, HTAB (RFC 9110 §5.5, obs-text refused)
const PATH = /^\/[A-Za-z0-9._~!$&'()*+,;=:@\/-]*$/; // RFC 3986 §3.3 pchar, no '%' (no encoded tricks)
const QUERY = /^[A-Za-z0-9._~!$&'()*+,;=:@\/?%-]*$/; // RFC 3986 §3.4

const malformed = (what: string): AirgapError => new AirgapError('HTTP_MALFORMED', `malformed request: ${what}`);

/** Parses one request head (without the final CRLFCRLF). Throws HTTP_MALFORMED / HTTP_TOO_LARGE. */
export function parseRequestHead(head: Uint8Array): RequestHead {
  if (head.length > MAX_HEAD_BYTES) throw new AirgapError('HTTP_TOO_LARGE', `request head over ${MAX_HEAD_BYTES} bytes`);
  for (const b of head) if (b > 0x7e || (b < 0x20 && b !== 0x0d && b !== 0x0a && b !== 0x09)) throw malformed('a byte outside printable ASCII');
  const text = Buffer.from(head).toString('latin1');
  const lines = text.split('\r\n');
  if (lines.some((l) => l.includes('\n') || l.includes('\r'))) throw malformed('a bare CR or LF (lines end with CRLF, RFC 9112 §2.2)');
  const requestLine = lines[0]!.split(' '); // RFC 9112 §3: method SP request-target SP HTTP-version
  if (requestLine.length !== 3) throw malformed('the request line is not "METHOD target HTTP/1.1"');
  const [method, target, version] = requestLine as [string, string, string];
  if (!TOKEN.test(method)) throw malformed('the method is not a token');
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') throw malformed('the version is not HTTP/1.1 or HTTP/1.0');
  if (target.length === 0 || target[0] !== '/') throw malformed('the request-target is not origin-form');
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  if (!PATH.test(path)) throw malformed('the path has characters outside RFC 3986 pchar (percent-encoding is refused)');
  if (q !== -1 && !QUERY.test(target.slice(q + 1))) throw malformed('the query has characters outside RFC 3986');
  if (path.split('/').some((s) => s === '.' || s === '..') || path.includes('//')) throw malformed('dot segments or empty segments in the path');
  const headers: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    if (line === '') throw malformed('an empty header line');
    if (line[0] === ' ' || line[0] === '\t') throw malformed('obsolete line folding (RFC 9112 §5.2)');
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed('a header line without a name');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw malformed('a header name is not a token (no space before the colon, RFC 9112 §5.1)');
    const value = line.slice(colon + 1).trim();
    if (!FIELD_VALUE.test(value)) throw malformed('a header value has control characters');
    headers.push([name.toLowerCase(), value]);
    if (headers.length > MAX_HEADERS) throw new AirgapError('HTTP_TOO_LARGE', `more than ${MAX_HEADERS} headers`);
  }
  const hosts = headers.filter(([n]) => n === 'host').length;
  if (version === 'HTTP/1.1' && hosts !== 1) throw malformed('HTTP/1.1 needs exactly one Host header (RFC 9112 §3.2)');
  return { method, target, path, version, headers };
}

/**
 * Whether a path is on the allowlist: equal to an entry, or under an entry that ends in "/". An entry
 * "/period/_/rest" matches "/period/<id>/rest" for a well-formed period id only (isPeriodId).
 */
export function pathAllowed(path: string, allowlist: readonly string[]): boolean {
  const matches = (a: string, p: string): boolean => (a.endsWith('/') ? p.startsWith(a) && p.length > a.length : p === a);
  let inPeriod: string | undefined; // "/rest" of "/period/<id>/rest", when <id> is a period id
  if (path.startsWith('/period/')) {
    const end = path.indexOf('/', '/period/'.length);
    if (end !== -1 && isPeriodId(path.slice('/period/'.length, end))) inPeriod = path.slice(end);
  }
  return allowlist.some((a) => {
    if (!a.startsWith(PERIOD_ENTRY)) return matches(a, path);
    return inPeriod !== undefined && matches(a.slice(PERIOD_ENTRY.length - 1), inPeriod);
  });
}

/** Throws HTTP_FORBIDDEN unless the request is a body-less GET on the allowlist. */
export function checkRequest(head: RequestHead, allowlist: readonly string[]): void {
  if (head.method !== 'GET') throw new AirgapError('HTTP_FORBIDDEN', `method ${head.method} is not allowed (GET only)`);
  for (const [name, value] of head.headers) {
    // no request bodies at all: a GET with a body is how a request could be smuggled (RFC 9112 §6.1, §11.2)
    if (name === 'transfer-encoding') throw new AirgapError('HTTP_FORBIDDEN', 'Transfer-Encoding is not allowed');
    if (name === 'content-length' && value !== '0') throw new AirgapError('HTTP_FORBIDDEN', 'a request body is not allowed');
    if (name === 'upgrade' || name === 'expect') throw new AirgapError('HTTP_FORBIDDEN', `the ${name} header is not allowed`);
  }
  if (!pathAllowed(head.path, allowlist)) throw new AirgapError('HTTP_FORBIDDEN', `path ${head.path.slice(0, 100)} is not on the allowlist`);
}

/**
 * Incremental framer for request heads on one connection: push bytes, get complete heads (with their
 * CRLFCRLF) in order. Holds at most MAX_HEAD_BYTES; a longer unfinished head throws HTTP_TOO_LARGE.
 */
export class RequestHeadFramer {
  #pending = Buffer.alloc(0);

  push(chunk: Uint8Array): Buffer[] {
    this.#pending = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : Buffer.from(chunk);
    const heads: Buffer[] = [];
    for (;;) {
      const end = this.#pending.indexOf('\r\n\r\n');
      if (end === -1) break;
      if (end + 4 > MAX_HEAD_BYTES) throw new AirgapError('HTTP_TOO_LARGE', `request head over ${MAX_HEAD_BYTES} bytes`);
      heads.push(this.#pending.subarray(0, end + 4));
      this.#pending = this.#pending.subarray(end + 4);
    }
    if (this.#pending.length > MAX_HEAD_BYTES) throw new AirgapError('HTTP_TOO_LARGE', `request head over ${MAX_HEAD_BYTES} bytes`);
    return heads;
  }
}

const STATUS: Record<string, [number, string]> = {
  HTTP_MALFORMED: [400, 'Bad Request'],
  HTTP_TOO_LARGE: [431, 'Request Header Fields Too Large'],
  HTTP_FORBIDDEN: [403, 'Forbidden'],
};

/** The answer the relay sends for a refused request; the connection closes after it. */
export function refusalResponse(err: AirgapError): Buffer {
  const [status, text] = STATUS[err.code] ?? [400, 'Bad Request'];
  const body = `${JSON.stringify({ error: { code: err.code, message: err.message } })}\n`;
  return Buffer.from(
    `HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    'latin1',
  );
}
