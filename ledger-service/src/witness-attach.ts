// Witness cosignatures (c2sp.org/tlog-witness, c2sp.org/tlog-cosignature): after each new checkpoint the
// ledger submits it to every configured witness, at most one request in flight per witness and never on
// the checkpoint tick's path, and keeps the cosignature lines it gets back, by (tree size, witness vkey),
// to attach to the checkpoint it serves. A refusal (409 split view / 422 bad proof, or a witness that has
// cosigned a larger tree) is an alarm: the ledger's history as the witness saw it does not extend to this one.
//
// The cosignatures are kept in the ledger's store (cosignature-store.ts, the newest KEEP_SIZES sizes), with the
// ledger's own note they cosign: after a restart /checkpoint and receipts still carry them, and receipts use
// the newest checkpoint that reached the configured quorum (quorumCheckpoint).
//
// A ledger that rotates its log by period (period-set.ts): the store is the current period's, so cosignatures are
// kept per period log; the feeder state remembers which log a witness's size is of, and the first checkpoint of
// a new period log goes with its link (entry 0 and its inclusion proof, the consistency proof in the closed log
// from the witness's cosigned size to the final checkpoint: @meterseal/witness feeder-link.ts), every proof taken
// from the log the submitted checkpoint is of, even when the ledger rotated meanwhile. Before that link, each
// witness is asked to cosign the closed log's final checkpoint (a plain c2sp request in the closed log), and its
// cosignature is written into the closed period's file: receipts of anchors made after the last cosigned
// checkpoint of a period then still reach the quorum against that period's final checkpoint.
import Database from 'better-sqlite3';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { consistencyProof, inclusionProof, parseCheckpointText, parseNote } from '@meterseal/protocol';
import { probeWitness, submitToWitness, type CheckpointSource, type FeedResult, type FeederState, type PeriodLogSource } from '@meterseal/witness';
import { SqliteCosignatures, quorumCheckpoint } from './cosignature-store.js';
import { describe } from './errors.js';
import type { LedgerLog } from './log.js';
import type { PeriodLogSet } from './period-set.js';
import type { LedgerStore } from './store.js';

/** A rotating ledger's period logs (period-set.ts): the current one and the closed ones, by origin. */
export type PeriodLogs = Pick<PeriodLogSet, 'closedStore' | 'periods'> & { current: Pick<PeriodLogSet['current'], 'origin' | 'path' | 'store'> };
type LogStore = Pick<LedgerStore, 'getNode' | 'getEntry' | 'treeSize'>;

export interface WitnessTarget {
  url: string;
  verifierKey: string;
}

export interface WitnessCounts {
  /** Cosignatures received (and verified with the configured vkey). */
  cosigned: number;
  /** Refusals: HTTP 409 / 422 from add-checkpoint, or a witness ahead of the ledger. Each is logged at error. */
  refused: number;
  /** Anything else: unreachable, timeouts, other HTTP statuses, unusable answers. */
  failed: number;
}

interface Peer {
  target: WitnessTarget;
  state: FeederState;
  inFlight?: Promise<void>;
  /** The checkpoint note last refused by this witness: not resubmitted until the log grows (or rotates). */
  refusedNote?: string;
  /** The closed log whose final checkpoint was last submitted to this witness (attempted once). */
  finalTried?: string;
}

/** Whether a submitToWitness error is the witness refusing the checkpoint (an alarm) rather than a failure. */
export function isRefusal(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  if (e?.code === 'WITNESS_AHEAD') return true;
  if (e?.code !== 'WITNESS_REFUSED') return false;
  // feeder.ts: "add-checkpoint: HTTP <status>: …" for a final answer, no status for repeated 409 size answers
  const status = /HTTP (\d{3})/.exec(typeof e.message === 'string' ? e.message : '');
  return status === null || status[1] === '409' || status[1] === '422';
}

export class WitnessAttacher {
  private readonly peers: Peer[];
  private readonly counts: WitnessCounts = { cosigned: 0, refused: 0, failed: 0 };
  private closed = false;

  constructor(
    targets: readonly WitnessTarget[],
    private readonly log: LedgerLog,
    private readonly store: Pick<LedgerStore, 'putCosignature' | 'getCosignatures' | 'cosignedSizes'>,
    private readonly logger: Logger,
    private readonly timeoutMs = 10_000,
    private readonly now: () => number = Date.now,
    /** Set when the ledger rotates its log by period: where links and closed logs' proofs come from. */
    private readonly periods?: PeriodLogs,
  ) {
    this.peers = targets.map((target) => ({ target, state: {} }));
  }

  stats(): WitnessCounts {
    return { ...this.counts };
  }

  /** Called after each checkpoint tick: starts a submission to every idle witness that lacks the latest size. */
  onCheckpoint(size: bigint): void {
    if (this.closed || size === 0n) return; // an empty tree commits to nothing: wait for the first entry
    for (const p of this.peers) {
      if (p.inFlight) continue; // at most one request in flight per witness; the next tick catches up
      if (this.store.getCosignatures(size).some((c) => c.witness === p.target.verifierKey)) continue;
      if (p.refusedNote !== undefined && p.refusedNote === this.log.latestCheckpoint().note) continue;
      p.inFlight = this.submit(p, size).finally(() => {
        p.inFlight = undefined;
      });
    }
  }

  /** The cosignature lines stored for a checkpoint size, in configuration order ('' if none). */
  linesFor(size: bigint): string {
    const m = new Map(this.store.getCosignatures(size).map((c) => [c.witness, c.lines]));
    return this.peers.map((p) => m.get(p.target.verifierKey) ?? '').join('');
  }

  /**
   * The newest checkpoint with a size above `minSize` cosigned by at least `quorum` configured witnesses,
   * with their lines; undefined if there is none (yet).
   */
  quorumCheckpoint(quorum: number, minSize: bigint): { size: bigint; note: string; cosigners: number } | undefined {
    return quorumCheckpoint(this.store, this.peers.map((p) => p.target.verifierKey), quorum, minSize);
  }

  /** The signed checkpoint note with the stored witness cosignature lines appended (c2sp.org/signed-note). */
  attach(checkpoint: { size: bigint; note: string }): string {
    return checkpoint.note + this.linesFor(checkpoint.size);
  }

  /** Stops new submissions and waits for those in flight. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.peers.map((p) => p.inFlight));
  }

  /** The ledger as the feeder's source; `seen` gets each checkpoint note handed out. */
  private source(seen: (note: string) => void): CheckpointSource {
    if (!this.periods) {
      return {
        latest: () => {
          const note = this.log.latestCheckpoint().note; // the ledger's own note, without cosignatures
          seen(note);
          return note;
        },
        consistencyProof: (from, to) => this.log.consistencyProof(from, to),
      };
    }
    let origin = '';
    const periods: PeriodLogSource = {
      firstEntry: (o, size) => {
        const s = this.logStore(o);
        const entry = s && size > 0n && size <= s.treeSize() ? s.getEntry(0n) : undefined;
        return entry ? { entry, proof: inclusionProof(s!, 0n, size) } : undefined; // RFC 9162 §2.1.3.1
      },
      logConsistencyProof: (o, from, to) => this.proofIn(o, from, to),
    };
    return {
      latest: () => {
        const note = this.log.latestCheckpoint().note;
        origin = parseCheckpointText(parseNote(note).text).origin;
        seen(note);
        return note;
      },
      consistencyProof: (from, to) => this.proofIn(origin, from, to), // in that checkpoint's log, even if rotated since
      periods,
    };
  }

  /** The store of the period log named `origin`, current or closed; undefined if there is none. */
  private logStore(origin: string): LogStore | undefined {
    const set = this.periods!;
    if (set.current.origin === origin) return set.current.store;
    const p = set.periods().find((i) => i.origin === origin);
    return p ? set.closedStore(p.period) : undefined;
  }

  private proofIn(origin: string, from: bigint, to: bigint): Uint8Array[] {
    const s = this.logStore(origin);
    if (!s) throw new Error(`no period log ${origin}`);
    if (to > s.treeSize()) throw new Error(`tree size ${to} exceeds ${origin}'s ${s.treeSize()}`);
    return consistencyProof(s, from, to); // RFC 9162 §2.1.4.1
  }

  /**
   * When the witness's last cosigned log has been closed since, the closed log's final checkpoint, so that the
   * witness cosigns it before the link to the new log (which then needs no consistency proof).
   */
  private closedFinal(p: Peer): { origin: string; period: string; note: string; size: bigint } | undefined {
    const origin = p.state.origin;
    if (!this.periods || origin === undefined || origin === this.periods.current.origin || p.state.witnessSize === undefined) return undefined;
    const info = this.periods.periods().find((i) => i.origin === origin && i.closed);
    if (!info?.finalCheckpoint || info.size < p.state.witnessSize) return undefined;
    // the witness may have cosigned the final size already while the ledger, stopping, never stored the answer:
    // then it is asked again (same size, empty proof — c2sp.org/tlog-witness) unless the closed log holds it
    if (info.size === p.state.witnessSize && this.periods.closedStore(info.period)?.getCosignatures(info.size).some((c) => c.witness === p.target.verifierKey)) return undefined;
    return { origin, period: info.period, note: info.finalCheckpoint, size: info.size };
  }

  /** Asks the witness to cosign a closed log's final checkpoint and keeps the cosignature in that log's file. */
  private async cosignFinal(p: Peer, f: { origin: string; period: string; note: string; size: bigint }): Promise<void> {
    const r = await submitToWitness({
      source: { latest: () => f.note, consistencyProof: (from, to) => this.proofIn(f.origin, from, to) },
      witnessUrl: p.target.url, state: p.state, witnessVerifierKey: p.target.verifierKey, timeoutMs: this.timeoutMs,
    });
    if (r.size !== f.size) throw new Error(`the witness cosigned size ${r.size}, not the final size ${f.size} of ${f.origin}`);
    // the closed file is opened read-only by the period set; its cosignatures table is written here, once per witness
    const db = new Database(join(dirname(this.periods!.current.path), `${f.period}.sqlite`), { fileMustExist: true });
    try {
      db.pragma('busy_timeout = 5000');
      new SqliteCosignatures(db).put({ size: f.size, witness: p.target.verifierKey, note: f.note, lines: r.cosignature, atMs: this.now() });
    } finally {
      db.close();
    }
    this.logger.info({ witness: p.target.url, origin: f.origin, size: f.size.toString() }, 'closed period\'s final checkpoint cosigned by witness');
  }

  /**
   * A rotating ledger's attacher without memory of a witness (started, or restarted after a rotation): asks
   * where the witness stands with a plain request, so that a closed log it cosigned last gets its final
   * checkpoint cosigned before the link. Returns the cosignature when the plain request was cosigned (first use).
   */
  private async probe(p: Peer): Promise<{ r: FeedResult; note: string } | undefined> {
    const note = this.log.latestCheckpoint().note;
    const probe = await probeWitness({ witnessUrl: p.target.url, note, witnessVerifierKey: p.target.verifierKey, timeoutMs: this.timeoutMs });
    if (probe.status === 'cosigned') {
      p.state.origin = parseCheckpointText(parseNote(note).text).origin;
      p.state.witnessSize = probe.result.size;
      return { r: probe.result, note };
    }
    p.state.origin = probe.status === 'known' ? parseCheckpointText(parseNote(note).text).origin : probe.head.origin;
    p.state.witnessSize = probe.status === 'known' ? probe.size : probe.head.size;
    return undefined;
  }

  private async submit(p: Peer, _size: bigint): Promise<void> {
    const { url, verifierKey } = p.target;
    let submitted = '';
    try {
      const probed = this.periods && p.state.origin === undefined ? await this.probe(p) : undefined;
      if (probed) {
        submitted = probed.note;
        this.accept(p, probed.r, probed.note);
        return;
      }
      const final = this.closedFinal(p);
      if (final && p.finalTried !== final.origin) {
        p.finalTried = final.origin; // once per closed log: the new log's link does not depend on it
        try {
          await this.cosignFinal(p, final);
          this.counts.cosigned++;
        } catch (err) {
          this.logger.warn({ witness: url, origin: final.origin, err: describe(err) }, 'the closed period\'s final checkpoint was not cosigned; linking the new period from the cosigned size');
        }
      }
      const r = await submitToWitness({
        source: this.source((note) => (submitted = note)),
        witnessUrl: url,
        state: p.state,
        witnessVerifierKey: verifierKey, // the feeder verifies the cosignature before returning it
        timeoutMs: this.timeoutMs,
      });
      this.accept(p, r, submitted);
    } catch (err) {
      if (isRefusal(err)) {
        this.counts.refused++;
        p.refusedNote = submitted || undefined;
        this.logger.error({ witness: url, witnessKey: verifierKey, err: describe(err) }, 'ALARM: witness refused the ledger checkpoint');
      } else {
        this.counts.failed++;
        this.logger.warn({ witness: url, err: describe(err) }, 'witness submission failed');
      }
    }
  }

  /** Keeps a verified cosignature of the submitted note (in the current period's store). */
  private accept(p: Peer, r: FeedResult, submitted: string): void {
    if (this.closed) return;
    const note = submitted && parseCheckpointText(parseNote(submitted).text).size === r.size ? submitted : undefined;
    if (note === undefined) throw new Error(`the witness cosigned size ${r.size}, not the submitted checkpoint`);
    this.store.putCosignature({ size: r.size, witness: p.target.verifierKey, note, lines: r.cosignature, atMs: this.now() });
    this.counts.cosigned++;
    p.refusedNote = undefined;
    this.logger.debug({ witness: p.target.url, size: r.size.toString() }, 'checkpoint cosigned by witness');
  }
}
