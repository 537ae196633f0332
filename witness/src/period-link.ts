// The check of a period link (README "Ledgers that rotate their log", docs/ledger.md "Log rotation by period"):
// the first checkpoint a witness cosigns of a rotating ledger's new period log must descend from the last log
// it cosigned. The witness is push-only, so the submitter sends the link with the checkpoint (request.ts): entry 0
// of the new log — a PreviousLog record (protocol previous-log.ts) committing the previous log's FINAL signed
// checkpoint — with its RFC 9162 inclusion proof, one more such group per period the witness skipped, and a
// consistency proof from the witness's cosigned head to the final checkpoint of its log. Pure: no store, no clock.
import {
  PREVIOUS_LOG_TYPE, decodePreviousLog, leafHash, openCheckpoint, periodStartMs, periodUnitOf, bytesEqual, verifyConsistency,
  verifyInclusion, type Checkpoint, type NoteVerifier, type PreviousLog,
} from '@meterseal/protocol';
import { describe } from './errors.js';
import type { PeriodLinkMaterial } from './request.js';
import type { CosignedHead, LedgerPosition } from './store.js';

export type LinkVerdict =
  | { ok: true; /** The final checkpoint of the witness's log, when the link reached it. */ final?: CosignedHead & { origin: string } }
  | { ok: false; code: 'BAD_LINK' | 'LINK_CONFLICT' | 'LINK_REQUIRED'; message: string };

export interface LinkContext {
  /** The submitted checkpoint (signature already checked) and its period ('' for the base origin). */
  checkpoint: Checkpoint;
  period: string;
  link: PeriodLinkMaterial | undefined;
  /** The ledger's note verifier key. */
  verifier: NoteVerifier;
  /** The period of an origin of this ledger ('' for the base), undefined for an origin of another log. */
  periodOf(origin: string): string | undefined;
  /** The witness's position and its head there; null when it never cosigned this ledger (first use). */
  known: { position: LedgerPosition; head: CosignedHead | null } | null;
  nowMs: number;
}

const bad = (message: string): LinkVerdict => ({ ok: false, code: 'BAD_LINK', message });

/** Checks the link of a checkpoint that opens a period after the witness's position (see the header). */
export function checkPeriodLink(c: LinkContext): LinkVerdict {
  const groups = c.link?.groups ?? [];
  if (groups.length === 0) {
    if (c.known === null) return { ok: true }; // first use: like c2sp's first checkpoint of a log, trusted as given
    return { ok: false, code: 'LINK_REQUIRED', message: `${c.checkpoint.origin} opens a new period: its link to ${c.known.position.origin} is required` };
  }
  let cur = { origin: c.checkpoint.origin, size: c.checkpoint.size, root: c.checkpoint.root, period: c.period };
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    const last = i === groups.length - 1;
    if (g.entry[0] !== PREVIOUS_LOG_TYPE) return bad(`link ${i}: entry 0 of ${cur.origin} is not a PreviousLog record (type 0x16)`);
    let r: PreviousLog;
    try {
      r = decodePreviousLog(g.entry);
    } catch (err) {
      return bad(`link ${i}: entry 0 of ${cur.origin} is not a valid PreviousLog record: ${describe(err)}`);
    }
    if (r.origin !== cur.origin) return bad(`link ${i}: entry 0 opens "${r.origin.slice(0, 200)}", not ${cur.origin}`);
    if (cur.size < 1n + r.carried) return bad(`link ${i}: a tree of size ${cur.size} cannot hold entry 0 and ${r.carried} carried entries`);
    // RFC 9162 §2.1.3.2: entry 0's leaf hash and the proof give the root of cur
    if (!verifyInclusion(leafHash(g.entry), 0n, cur.size, g.proof, cur.root)) {
      return bad(`link ${i}: the inclusion proof of entry 0 in ${cur.origin} at size ${cur.size} does not verify`);
    }
    let committed: Checkpoint;
    try {
      committed = openCheckpoint(r.checkpoint, c.verifier);
    } catch (err) {
      return bad(`link ${i}: the previous checkpoint in entry 0 of ${cur.origin} is not signed by the ledger key: ${describe(err)}`);
    }
    const period = c.periodOf(committed.origin);
    if (period === undefined) return bad(`link ${i}: the previous checkpoint names "${committed.origin.slice(0, 200)}", not a log of this ledger`);
    if (!(period < cur.period)) return bad(`link ${i}: the previous log ${committed.origin} does not precede ${cur.origin}`);
    const unit = periodUnitOf(cur.period);
    if (unit && r.closedAtMs < BigInt(periodStartMs(cur.period, unit))) {
      return bad(`link ${i}: ${committed.origin} was closed at ${r.closedAtMs} ms, before ${cur.origin}'s period began`);
    }

    if (c.known === null) {
      if (last) return { ok: true }; // first use: every group given is checked, none is required
    } else if (committed.origin === c.known.position.origin) {
      if (!last) return bad(`link ${i} reaches ${committed.origin}; the link must end there`);
      return reachHead(c, c.known.head, committed, r.checkpoint);
    } else if (period < c.known.position.period) {
      // the new log descends from a log before the witness's: it skips what the witness cosigned (a fork)
      return bad(`the chain of ${c.checkpoint.origin} passes from ${cur.origin} to ${committed.origin}, over ${c.known.position.origin} that this witness cosigned`);
    }
    cur = { origin: committed.origin, size: committed.size, root: committed.root, period };
  }
  return {
    ok: false, code: 'LINK_REQUIRED',
    message: `the link ends at ${cur.origin}; it must reach ${c.known!.position.origin}, this witness's latest cosigned log`,
  };
}

/** The committed final checkpoint of the witness's log must equal or extend (RFC 9162 §2.1.4.2) the head it cosigned. */
function reachHead(c: LinkContext, head: CosignedHead | null, final: Checkpoint, note: string): LinkVerdict {
  const proof = c.link!.consistency;
  const out: LinkVerdict = { ok: true, final: { origin: final.origin, size: final.size, root: final.root, note, cosignedAtMs: c.nowMs } };
  if (head === null || head.size === 0n) return proof.length === 0 ? out : bad('a consistency proof from an empty tree must be empty');
  if (final.size < head.size) {
    return { ok: false, code: 'LINK_CONFLICT', message: `the final checkpoint of ${final.origin} has size ${final.size}, below the cosigned ${head.size}: a rewritten history` };
  }
  if (final.size === head.size) {
    if (!bytesEqual(final.root, head.root)) {
      return { ok: false, code: 'LINK_CONFLICT', message: `the final checkpoint of ${final.origin} at the cosigned size ${head.size} has another root: a split view` };
    }
    return proof.length === 0 ? out : bad('the link-consistency proof must be empty when the final checkpoint is the cosigned one');
  }
  if (proof.length === 0) {
    // the submitter did not know where the witness stands (e.g. it restarted): tell it (409 with the head)
    return { ok: false, code: 'LINK_REQUIRED', message: `the link reaches ${final.origin} at size ${final.size} without the consistency proof from the cosigned size ${head.size}` };
  }
  if (!verifyConsistency(head.size, final.size, proof, head.root, final.root)) {
    return bad(`the link-consistency proof from the cosigned size ${head.size} to the final size ${final.size} of ${final.origin} does not verify`);
  }
  return out;
}
