// Test helper: a ledger that rotates its log by period, in memory but with real bytes — RFC 9162 trees
// (protocol MemoryTree), checkpoints signed with an Ed25519 ledger key (note key name = the base origin, as the
// ledger signs), entry 0 of each later period a real PreviousLog record committing the previous log's final
// checkpoint — and any forgery the same key can sign. It is also a PeriodLogSource for the feeder.
import { randomBytes } from 'node:crypto';
import {
  MemoryTree, consistencyProof, encodePreviousLog, encodeVerifierKey, generateKeyPair, inclusionProof, leafHash, noteSigner,
  periodOrigin, periodStartMs, periodUnitOf, signCheckpoint, type NoteSigner,
} from '@meterseal/protocol';
import type { LinkGroup } from '../request.js';
import type { PeriodLogSource } from '../feeder-link.js';

export interface SimLog {
  origin: string;
  tree: MemoryTree;
  entries: Uint8Array[];
  final?: string;
}

export class RotatingSimLedger implements PeriodLogSource {
  readonly signer: NoteSigner;
  readonly verifierKey: string;
  readonly logs = new Map<string, SimLog>();
  current: SimLog;

  constructor(readonly base: string, firstPeriod: string, keys = generateKeyPair()) {
    this.signer = noteSigner(base, keys.secretKey);
    this.verifierKey = encodeVerifierKey(base, keys.publicKey);
    this.current = this.open(firstPeriod);
  }

  private open(period: string): SimLog {
    const log: SimLog = { origin: periodOrigin(this.base, period), tree: new MemoryTree(), entries: [] };
    this.logs.set(log.origin, log);
    return log;
  }

  /** Appends `n` random entries to the current log and returns its signed checkpoint. */
  grow(n: number): string {
    for (let i = 0; i < n; i++) this.add(this.current, new Uint8Array(randomBytes(40)));
    return this.checkpoint();
  }

  add(log: SimLog, entry: Uint8Array): void {
    log.entries.push(entry);
    log.tree.append(leafHash(entry));
  }

  /** The current log's checkpoint (or of `log` at `size`), signed by the ledger key. */
  checkpoint(log = this.current, size = log.tree.size): string {
    return signCheckpoint({ origin: log.origin, size, root: log.tree.root(size), extensions: [] }, this.signer);
  }

  /** Closes the current log (its final checkpoint) and opens `period` with entry 0 committing it and `carried` copies. */
  rotate(period: string, o: { carried?: number; committed?: string } = {}): { final: string; entry0: Uint8Array } {
    const old = this.current;
    old.final = this.checkpoint(old);
    const next = this.open(period);
    const closedAtMs = BigInt(periodStartMs(period, periodUnitOf(period)!) + 1000);
    const carried = o.carried ?? 1;
    const entry0 = encodePreviousLog({ origin: next.origin, closedAtMs, carried: BigInt(carried), checkpoint: o.committed ?? old.final });
    this.add(next, entry0);
    for (let i = 0; i < carried; i++) this.add(next, old.entries[i % old.entries.length]!);
    this.current = next;
    return { final: old.final, entry0 };
  }

  log(origin: string): SimLog {
    const l = this.logs.get(origin);
    if (!l) throw new Error(`no log ${origin}`);
    return l;
  }

  firstEntry(origin: string, size: bigint): LinkGroup | undefined {
    const l = this.logs.get(origin);
    if (!l || l.entries.length === 0) return undefined;
    return { entry: l.entries[0]!, proof: inclusionProof(l.tree, 0n, size) };
  }

  logConsistencyProof(origin: string, from: bigint, to: bigint): Uint8Array[] {
    return consistencyProof(this.log(origin).tree, from, to);
  }
}
