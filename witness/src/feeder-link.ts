// The submitter's half of a period link (README "Ledgers that rotate their log"): for the first checkpoint of a
// period log sent to a witness with `old 0`, entry 0 of that log (a PreviousLog record, protocol previous-log.ts)
// with its RFC 9162 inclusion proof; then, while the checkpoint that entry commits is not of the log the witness
// cosigned last, the same for that log (periods the witness skipped); and the consistency proof from the
// witness's cosigned size to the final checkpoint of its log. What the witness checks is period-link.ts.
import { PREVIOUS_LOG_TYPE, decodePreviousLog, fromBase64, fromHex, periodUnitOf, previousCheckpointOf, type Checkpoint } from '@meterseal/protocol';
import { WitnessError, describe } from './errors.js';
import { MAX_LINK_GROUPS, MAX_PROOF_LINES, type LinkGroup, type PeriodLinkMaterial } from './request.js';

/** Where the witness stands for a rotating ledger: the log it cosigned last and its cosigned size there. */
export interface WitnessHead {
  origin: string;
  size: bigint;
}

/** A rotating ledger's logs, by origin (the current period's and the closed ones). */
export interface PeriodLogSource {
  /** Entry 0 of the log `origin` and its inclusion proof in its tree of `size`; undefined without such a log. */
  firstEntry(origin: string, size: bigint): Promise<LinkGroup | undefined> | LinkGroup | undefined;
  /** An RFC 9162 §2.1.4 consistency proof inside the log `origin`, 0 < from < to. */
  logConsistencyProof(origin: string, from: bigint, to: bigint): Promise<Uint8Array[]> | Uint8Array[];
}

/**
 * The link of `checkpoint` back to `from` (the witness's position), or, without `from`, entry 0 alone; undefined
 * when the checkpoint's log does not open with a PreviousLog (the ledger's first log, or a log that never rotated).
 */
export async function buildPeriodLink(source: PeriodLogSource, checkpoint: Checkpoint, from: WitnessHead | undefined): Promise<PeriodLinkMaterial | undefined> {
  const groups: LinkGroup[] = [];
  let cur: { origin: string; size: bigint } = checkpoint;
  for (let i = 0; i < MAX_LINK_GROUPS; i++) {
    if (cur.size === 0n) break;
    const g = await source.firstEntry(cur.origin, cur.size);
    if (!g || g.entry[0] !== PREVIOUS_LOG_TYPE) break;
    if (g.proof.length > MAX_PROOF_LINES) throw new WitnessError('FEED_FAILED', `inclusion proof of entry 0 in ${cur.origin} has ${g.proof.length} hashes`);
    groups.push(g);
    let prev: Checkpoint;
    try {
      prev = previousCheckpointOf(decodePreviousLog(g.entry));
    } catch (cause) {
      throw new WitnessError('FEED_FAILED', `entry 0 of ${cur.origin} is not a valid PreviousLog record: ${describe(cause)}`, { cause });
    }
    if (!from || from.origin === cur.origin) break;
    if (prev.origin === from.origin) {
      // the witness's cosigned size to the final size; empty when equal (a larger cosigned size: the witness refuses)
      const consistency = from.size === 0n || from.size >= prev.size ? [] : await source.logConsistencyProof(prev.origin, from.size, prev.size);
      if (consistency.length > MAX_PROOF_LINES) throw new WitnessError('FEED_FAILED', `consistency proof in ${prev.origin} has ${consistency.length} hashes`);
      return { groups, consistency };
    }
    cur = prev;
  }
  return groups.length > 0 ? { groups, consistency: [] } : undefined;
}

/** The period id of "<base>/<period>", or undefined. */
function periodIdOf(origin: string): string | undefined {
  const id = origin.slice(origin.lastIndexOf('/') + 1);
  return origin.includes('/') && periodUnitOf(id) !== undefined ? id : undefined;
}

/** A rotating ledger's logs through its read API: GET /period/<id>/link and /period/<id>/v1/proof/… (ledger-service period-http.ts). */
export function ledgerHttpPeriods(ledgerUrl: string, get: (url: string) => Promise<{ status: number; text: string }>): PeriodLogSource {
  const json = async (path: string): Promise<Record<string, unknown> | undefined> => {
    const r = await get(`${ledgerUrl}${path}`);
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new WitnessError('FEED_FAILED', `GET ${path}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
    try {
      return JSON.parse(r.text) as Record<string, unknown>;
    } catch (cause) {
      throw new WitnessError('FEED_FAILED', `GET ${path}: not JSON`, { cause });
    }
  };
  const hashes = (v: unknown, path: string): Uint8Array[] => {
    if (!Array.isArray(v)) throw new WitnessError('FEED_FAILED', `GET ${path}: no proof array`);
    return v.map((h) => fromHex(String(h), 32));
  };
  return {
    async firstEntry(origin, size) {
      const id = periodIdOf(origin);
      if (id === undefined) return undefined;
      const link = await json(`/period/${id}/link`);
      if (!link || typeof link['firstEntry'] !== 'string') return undefined;
      const path = `/period/${id}/v1/proof/inclusion?index=0&size=${size}`;
      const proof = await json(path);
      if (!proof) return undefined;
      try {
        return { entry: fromBase64(link['firstEntry']), proof: hashes(proof['proof'], path) };
      } catch (cause) {
        throw new WitnessError('FEED_FAILED', `GET ${path}: unusable answer: ${describe(cause)}`, { cause });
      }
    },
    async logConsistencyProof(origin, from, to) {
      const id = periodIdOf(origin);
      const path = `/period/${id}/v1/proof/consistency?from=${from}&to=${to}`;
      const body = id === undefined ? undefined : await json(path);
      if (!body) throw new WitnessError('FEED_FAILED', `the ledger serves no log ${origin}`);
      try {
        return hashes(body['proof'], path);
      } catch (cause) {
        throw new WitnessError('FEED_FAILED', `GET ${path}: unusable answer: ${describe(cause)}`, { cause });
      }
    },
  };
}
