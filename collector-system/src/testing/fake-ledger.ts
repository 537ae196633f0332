// A stand-in for the ledger's read-only HTTP query API (node:http), serving an in-memory log so that the
// collector's tests do not depend on ledger-service:
//   GET /checkpoint → text/plain C2SP signed checkpoint over an RFC 9162 tree of the anchors;
//   GET /v1/meters → {"meters":[{"meterId","registeredAt","bindings"}]} (as ledger-service answers);
//   GET /v1/anchors?meter&from&to → {"checkpoint","treeSize","anchors":[{seq,readingHash,keyId,leafIndex}]}
//   (inclusive range of at most 10000 seqs; a wider one is 400).
import { createServer, type Server } from 'node:http';
import {
  MemoryTree, anchorBytesOfReading, encodeSigned, leafHash, signCheckpoint, toHex, type NoteSigner,
} from '@meterseal/protocol';
import type { SignedDelivery, TestLedgerKey, TestMeter } from './fixtures.js';

interface Entry {
  seq: bigint;
  readingHash: Uint8Array;
  keyId: Uint8Array;
  leafIndex: bigint;
}

export interface FakeLedgerOptions {
  /** Also list firstSeq/lastSeq per meter in /v1/meters. */
  reportSeqRange?: boolean;
}

export interface FakeLedger {
  readonly url: string;
  readonly endpoint: { host: string; port: number };
  /** Signs checkpoints; replace it to sign with a wrong key. */
  signer: NoteSigner;
  /** When true, /v1/anchors requests are never answered (to let a window close under a run). */
  holdAnchors: boolean;
  /** Every request path, in order. */
  readonly requests: string[];
  /** Appends the anchor of a delivery, as the ledger would from interface 1. */
  anchor(meter: TestMeter, delivery: SignedDelivery): void;
  close(): Promise<void>;
}

const DECIMAL = /^(0|[1-9][0-9]{0,19})$/;

export async function startFakeLedger(key: TestLedgerKey, options: FakeLedgerOptions = {}): Promise<FakeLedger> {
  const byMeter = new Map<string, Entry[]>();
  const tree = new MemoryTree();
  const requests: string[] = [];
  const held = new Set<import('node:http').ServerResponse>();

  const state = {
    signer: key.signer,
    holdAnchors: false,
  };
  const checkpoint = (): string => signCheckpoint({ origin: key.origin, size: tree.size, root: tree.root(), extensions: [] }, state.signer);

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://ledger');
    requests.push(`${url.pathname}${url.search}`);
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return json(405, { error: 'method not allowed' });
    if (url.pathname === '/checkpoint') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      return res.end(checkpoint());
    }
    if (url.pathname === '/v1/meters') {
      const meters = [...byMeter.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([meterId, list]) => ({
        meterId,
        registeredAt: '2026-11-21T12:00:00.000Z',
        bindings: 1,
        ...(options.reportSeqRange ? { firstSeq: list[0]!.seq.toString(), lastSeq: list.at(-1)!.seq.toString() } : {}),
      }));
      return json(200, { meters });
    }
    if (url.pathname === '/v1/anchors') {
      if (state.holdAnchors) {
        held.add(res);
        return;
      }
      const meter = url.searchParams.get('meter') ?? '';
      const fromText = url.searchParams.get('from') ?? '';
      const toText = url.searchParams.get('to') ?? '';
      if (!DECIMAL.test(fromText) || !DECIMAL.test(toText)) return json(400, { error: 'from and to must be decimal' });
      const from = BigInt(fromText);
      const to = BigInt(toText);
      if (to < from || to - from + 1n > 10_000n) return json(400, { error: 'at most 10000 seqs per request' });
      const anchors = (byMeter.get(meter) ?? [])
        .filter((e) => e.seq >= from && e.seq <= to)
        .map((e) => ({ seq: e.seq.toString(), readingHash: toHex(e.readingHash), keyId: toHex(e.keyId), leafIndex: e.leafIndex.toString() }));
      return json(200, { checkpoint: checkpoint(), treeSize: tree.size.toString(), anchors });
    }
    return json(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as import('node:net').AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    endpoint: { host: '127.0.0.1', port },
    requests,
    get signer() {
      return state.signer;
    },
    set signer(s: NoteSigner) {
      state.signer = s;
    },
    get holdAnchors() {
      return state.holdAnchors;
    },
    set holdAnchors(v: boolean) {
      state.holdAnchors = v;
    },
    anchor(meter, d) {
      const anchor = anchorBytesOfReading(d.readingBytes, d.reading, meter.keyId);
      const leafIndex = tree.append(leafHash(encodeSigned(anchor, d.signature))); // RFC 9162 §2.1.1: the signed anchor is the entry
      const list = byMeter.get(meter.meterId) ?? [];
      const last = list.at(-1);
      list.push({ seq: d.reading.seq, readingHash: d.hash, keyId: meter.keyId, leafIndex });
      if (last && last.seq > d.reading.seq) list.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
      byMeter.set(meter.meterId, list);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of held) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
