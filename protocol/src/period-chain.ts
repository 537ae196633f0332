// Verifying a chain of period logs (docs/ledger.md "Log rotation by period", issue 3 item 9): each period's
// log opens with a PreviousLog entry (0x16, previous-log.ts) committing the previous log's final signed
// checkpoint. Given, oldest first, one signed checkpoint per period (the final one of every closed period,
// any of the newest) and each later log's entry 0 with its inclusion proof, the chain holds when
//   - every checkpoint is signed by the ledger key and names "<base>/<period>", periods strictly increasing;
//   - entry 0 of period i > 0 is a PreviousLog for period i's origin, included at index 0 of period i's
//     checkpoint (RFC 9162 §2.1.3.2), with its carried entries inside that tree;
//   - the checkpoint it commits is signed by the ledger key and has exactly the origin, size and root of the
//     checkpoint given for period i − 1 — which therefore is that log's final checkpoint;
//   - it was closed no earlier than period i begins (the ledger's UTC clock decides the boundary).
// Any failure is a ProtocolError whose code names the reason (CHAIN_*) and whose message names the period.
import { bytesEqual } from './bytes.js';
import { openCheckpoint, type Checkpoint } from './checkpoint.js';
import { ProtocolError } from './errors.js';
import { leafHash } from './merkle/hashing.js';
import { verifyInclusion } from './merkle/verify.js';
import type { NoteVerifier } from './note.js';
import { PREVIOUS_LOG_TYPE, decodePreviousLog, periodOfOrigin, periodStartMs, periodUnitOf, type PreviousLog } from './previous-log.js';

export interface PeriodLink {
  /** A signed checkpoint of this period's log: the final one of a closed period, any one of the newest. */
  checkpoint: string;
  /** Entry 0 of this log; required for every link but the first (there, checked only when it is a PreviousLog). */
  firstEntry?: Uint8Array;
  /** RFC 9162 inclusion proof of entry 0 in the checkpoint's tree. */
  firstEntryProof?: readonly Uint8Array[];
}

export interface VerifiedPeriod {
  period: string;
  origin: string;
  size: bigint;
  root: Uint8Array;
  /** Entry 0 decoded, for every link that has a PreviousLog entry 0. */
  previousLog?: PreviousLog;
}

export type PeriodChainFailure =
  | 'CHAIN_EMPTY' | 'CHAIN_BAD_SIGNATURE' | 'CHAIN_ORIGIN' | 'CHAIN_ORDER' | 'CHAIN_NO_LINK' | 'CHAIN_NOT_PREVIOUS_LOG'
  | 'CHAIN_PROOF' | 'CHAIN_MISMATCH' | 'CHAIN_TIME';

function fail(code: PeriodChainFailure, message: string, cause?: unknown): never {
  throw new ProtocolError(code, message, cause === undefined ? undefined : { cause });
}

function open(note: string, verifier: NoteVerifier, what: string): Checkpoint {
  try {
    return openCheckpoint(note, verifier);
  } catch (cause) {
    return fail('CHAIN_BAD_SIGNATURE', `${what}: not a checkpoint signed by ${verifier.name}: ${(cause as Error).message}`, cause);
  }
}

/** Verifies the chain (see the header); returns each period's verified size and root, oldest first. */
export function verifyPeriodChain(links: readonly PeriodLink[], opts: { verifier: NoteVerifier; baseOrigin: string }): VerifiedPeriod[] {
  if (links.length === 0) fail('CHAIN_EMPTY', 'no period to verify');
  const out: VerifiedPeriod[] = [];
  links.forEach((link, i) => {
    const cp = open(link.checkpoint, opts.verifier, `link ${i}`);
    const period = periodOfOrigin(opts.baseOrigin, cp.origin);
    if (period === undefined) fail('CHAIN_ORIGIN', `link ${i}: origin "${cp.origin.slice(0, 300)}" is not "${opts.baseOrigin}/<period>"`);
    const prev = out[i - 1];
    if (prev && !(prev.period < period)) fail('CHAIN_ORDER', `period ${period} does not follow period ${prev.period}`);
    const v: VerifiedPeriod = { period, origin: cp.origin, size: cp.size, root: cp.root };
    // the first link may be the ledger's first log, whose entry 0 is an ordinary entry: checked only if a PreviousLog
    if (prev || link.firstEntry?.[0] === PREVIOUS_LOG_TYPE) {
      if (link.firstEntry === undefined || link.firstEntryProof === undefined) fail('CHAIN_NO_LINK', `period ${period}: entry 0 and its inclusion proof are required`);
      let r: PreviousLog;
      try {
        r = decodePreviousLog(link.firstEntry);
      } catch (cause) {
        return fail('CHAIN_NOT_PREVIOUS_LOG', `period ${period}: entry 0 is not a PreviousLog record: ${(cause as Error).message}`, cause);
      }
      if (r.origin !== cp.origin) fail('CHAIN_ORIGIN', `period ${period}: entry 0 opens log "${r.origin.slice(0, 300)}", not "${cp.origin}"`);
      if (cp.size < 1n + r.carried) fail('CHAIN_PROOF', `period ${period}: tree size ${cp.size} cannot hold entry 0 and ${r.carried} carried entries`);
      // RFC 9162 §2.1.3.2: entry 0's leaf hash and the proof give the checkpoint's root
      if (!verifyInclusion(leafHash(link.firstEntry), 0n, cp.size, link.firstEntryProof, cp.root)) {
        fail('CHAIN_PROOF', `period ${period}: entry 0 is not included at index 0 of the checkpoint of size ${cp.size}`);
      }
      const committed = open(r.checkpoint, opts.verifier, `period ${period}: the committed previous checkpoint`);
      if (prev) {
        if (committed.origin !== prev.origin || committed.size !== prev.size || !bytesEqual(committed.root, prev.root)) {
          fail('CHAIN_MISMATCH', `period ${period}: entry 0 commits ${committed.origin} size ${committed.size}, but period ${prev.period}'s checkpoint is ${prev.origin} size ${prev.size} with another root or size`);
        }
        const unit = periodUnitOf(period)!;
        if (r.closedAtMs < BigInt(periodStartMs(period, unit))) {
          fail('CHAIN_TIME', `period ${period}: the previous log was closed at ${r.closedAtMs} ms, before the period began`);
        }
      }
      v.previousLog = r;
    }
    out.push(v);
  });
  return out;
}
