// A stand-in for the ledger's read-only HTTP query API (node:http), serving an in-memory log so that the
// collector's tests do not depend on ledger-service:
//   GET /checkpoint → text/plain C2SP signed checkpoint over an RFC 9162 tree of the anchors;
//   GET /v1/meters → {"meters":[{"meterId","registeredAt","bindings"}]} (as ledger-service answers);
//   GET /v1/anchors?meter&from&to → {"checkpoint","treeSize","anchors":[{seq,readingHash,keyId,leafIndex}]}
//   (inclusive range of at most 10000 seqs; a wider one is 400);
//   GET /v1/index, /v1/meter/node, /v1/proof/consistency → the per-meter index answers (docs/ledger.md), with
//   the index root committed in the checkpoint's extension line, computed by protocol's meter-index-api.
import { createServer, type Server } from 'node:http';
import {
  EMPTY_ROOT, MemoryTree, anchorBytesOfReading, consistencyProof, encodeSigned, formatIndexExtension, indexRoot, leafHash, meterLeafHash,
  meterNodeAnswer, rootOfLeaves, signCheckpoint, toHex, wireIndexLeaf, type MeterIndexLeaf, type NoteSigner,
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
  /** When true, no request but /checkpoint is answered (to let a window close under a run). */
  holdAnchors: boolean;
  /** Every request path, in order. */
  readonly requests: string[];
  /** Alters the index leaves served (not the ones the checkpoint commits): a lying or corrupted ledger. */
  tamperIndex?: (leaves: MeterIndexLeaf[]) => MeterIndexLeaf[];
  /** Rewrites history: keeps the first `keep` log entries, replaces the rest by altered ones (same size). */
  rewriteFrom(keep: number): void;
  /** Truncates the log to `keep` entries (and the meters' anchors with it). */
  truncate(keep: number): void;
  /** Appends the anchor of a delivery, as the ledger would from interface 1. */
  anchor(meter: TestMeter, delivery: SignedDelivery): void;
  close(): Promise<void>;
}

const DECIMAL = /^(0|[1-9][0-9]{0,19})$/;

export async function startFakeLedger(key: TestLedgerKey, options: FakeLedgerOptions = {}): Promise<FakeLedger> {
  const byMeter = new Map<string, Entry[]>();
  let tree = new MemoryTree();
  let entries: Uint8Array[] = [];
  const requests: string[] = [];
  const held = new Set<import('node:http').ServerResponse>();

  const state = {
    signer: key.signer,
    holdAnchors: false,
  };
  const extra: { tamperIndex?: (leaves: MeterIndexLeaf[]) => MeterIndexLeaf[] } = {};
  const indexLeaves = (): MeterIndexLeaf[] => [...byMeter.keys()].sort().map((meterId) => {
    const list = byMeter.get(meterId)!;
    return { meterId, treeSize: BigInt(list.length), treeRoot: rootOfLeaves(list.map((e) => meterLeafHash({ meterId, ...e }))), keyEventsSize: 0n, keyEventsRoot: EMPTY_ROOT };
  });
  const checkpoint = (): string => {
    const leaves = indexLeaves();
    const extensions = [formatIndexExtension({ meters: BigInt(leaves.length), root: indexRoot(leaves) })]; // c2sp.org/tlog-checkpoint extension line
    return signCheckpoint({ origin: key.origin, size: tree.size, root: tree.root(), extensions }, state.signer);
  };
  const rebuild = (list: Uint8Array[]): void => {
    tree = new MemoryTree();
    for (const e of list) tree.append(leafHash(e));
    entries = list;
  };

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
    const q = (name: string): string => url.searchParams.get(name) ?? '';
    if (state.holdAnchors && url.pathname !== '/checkpoint') {
      held.add(res); // never answered: lets a window close under a run
      return;
    }
    try {
      if (url.pathname === '/v1/index') {
        const leaves = indexLeaves();
        const served = extra.tamperIndex ? extra.tamperIndex(leaves) : leaves;
        const start = Number(q('start') || '0');
        const count = Number(q('count') || '10000');
        return json(200, { checkpoint: checkpoint(), treeSize: tree.size.toString(), meters: served.length, start, leaves: served.slice(start, start + count).map(wireIndexLeaf) });
      }
      if (url.pathname === '/v1/meter/node') {
        const meterId = q('meter');
        const list = byMeter.get(meterId) ?? [];
        const source = { meterLeaves: (_: string, from: bigint, n: number) => list.slice(Number(from), Number(from) + n).map((e) => ({ meterId, ...e })) };
        return json(200, meterNodeAnswer(source, meterId, BigInt(q('size')), BigInt(q('start')), BigInt(q('end'))));
      }
      if (url.pathname === '/v1/proof/consistency') {
        return json(200, { proof: consistencyProof(tree, BigInt(q('from')), BigInt(q('to'))).map(toHex) });
      }
    } catch (err) {
      return json(400, { error: String(err) });
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
      const entry = encodeSigned(anchor, d.signature);
      entries.push(entry);
      const leafIndex = tree.append(leafHash(entry)); // RFC 9162 §2.1.1: the signed anchor is the entry
      const list = byMeter.get(meter.meterId) ?? [];
      const last = list.at(-1);
      list.push({ seq: d.reading.seq, readingHash: d.hash, keyId: meter.keyId, leafIndex });
      if (last && last.seq > d.reading.seq) list.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
      byMeter.set(meter.meterId, list);
    },
    get tamperIndex() {
      return extra.tamperIndex;
    },
    set tamperIndex(f) {
      if (f) extra.tamperIndex = f;
      else delete extra.tamperIndex;
    },
    rewriteFrom(keep) {
      rebuild(entries.map((e, i) => (i < keep ? e : Uint8Array.from([...e, 0x2a]))));
    },
    truncate(keep) {
      rebuild(entries.slice(0, keep));
      for (const [id, list] of byMeter) {
        const kept = list.filter((e) => e.leafIndex < BigInt(keep));
        if (kept.length > 0) byMeter.set(id, kept);
        else byMeter.delete(id);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of held) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
