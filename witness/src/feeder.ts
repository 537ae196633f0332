// The feeder the ledger operator runs: takes the ledger's latest signed checkpoint and an RFC 9162
// consistency proof (from the ledger's read API with feedWitness, or from any CheckpointSource, e.g. the
// ledger in-process, with submitToWitness) and submits them to a witness (c2sp.org/tlog-witness
// add-checkpoint). A 409 carries the witness's cosigned size: the feeder retries from it.
// A ledger that rotates its log by period: the feeder remembers which log the witness's size belongs to; the
// first checkpoint of a new period log goes with `old 0` and its link (feeder-link.ts), and a 409 LINK_REQUIRED
// answer (the witness's log and size) is followed once more with a link reaching it.
import {
  fromHex, parseCheckpointText, parseCosignatureVerifierKey, parseNote, verifyCosignature, type Checkpoint,
} from '@meterseal/protocol';
import { WitnessError, describe } from './errors.js';
import { buildPeriodLink, ledgerHttpPeriods, type PeriodLogSource, type WitnessHead } from './feeder-link.js';
import { MAX_PROOF_LINES, TLOG_SIZE_MEDIA_TYPE, WITNESS_HEAD_MEDIA_TYPE, formatAddCheckpointRequest, type PeriodLinkMaterial } from './request.js';

const MAX_RESPONSE_BYTES = 64 * 1024;
const MAX_ATTEMPTS = 4;

/** What the feeder believes the witness has cosigned; updated in place after each answer. */
export interface FeederState {
  witnessSize?: bigint;
  /** The origin `witnessSize` belongs to (a rotating ledger has one log per period). */
  origin?: string;
  /** A rotating ledger: the witness's position in an earlier period log, which the next link must reach. */
  linkFrom?: WitnessHead;
}

export interface FeedOptions {
  /** The ledger's read API, e.g. http://127.0.0.1:8480 (GET /checkpoint, GET /v1/proof/consistency). */
  ledgerUrl: string;
  /** The witness's submission prefix, e.g. http://127.0.0.1:8580 (POST /add-checkpoint). */
  witnessUrl: string;
  state?: FeederState;
  /** If given, the answer must carry a valid cosignature by this vkey (c2sp.org/tlog-cosignature). */
  witnessVerifierKey?: string;
  timeoutMs?: number;
}

export interface FeedResult {
  /** The witness's cosignature line(s), each `— <name> <base64>\n`. */
  cosignature: string;
  /** The ledger's signed checkpoint that was cosigned, exactly as fetched. */
  checkpoint: string;
  /** checkpoint + cosignature: the note with the witness's signature lines appended. */
  cosignedNote: string;
  size: bigint;
}

async function readText(res: Response, what: string): Promise<string> {
  const text = await res.text();
  if (text.length > MAX_RESPONSE_BYTES) throw new WitnessError('FEED_FAILED', `${what}: answer larger than ${MAX_RESPONSE_BYTES} bytes`);
  return text;
}

async function get(url: string, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (cause) {
    throw new WitnessError('FEED_FAILED', `GET ${url}: ${describe(cause)}`, { cause });
  }
}

/** Where the feeder takes checkpoints and proofs from: the ledger's HTTP API, or the ledger in-process. */
export interface CheckpointSource {
  /** The log's latest signed checkpoint note. */
  latest(): Promise<string> | string;
  /** The RFC 9162 §2.1.4 consistency proof between two tree sizes of the latest checkpoint's log, 0 < from < to. */
  consistencyProof(from: bigint, to: bigint): Promise<Uint8Array[]> | Uint8Array[];
  /** A ledger that rotates its log by period: its logs, for the links of new periods (feeder-link.ts). */
  periods?: PeriodLogSource;
}

/** The ledger's read API as a source: GET /checkpoint and GET /v1/proof/consistency (ledger-service/src/http.ts). */
export function ledgerHttpSource(ledgerUrl: string, timeoutMs = 10_000): CheckpointSource {
  return {
    periods: ledgerHttpPeriods(ledgerUrl, async (url) => {
      const res = await get(url, timeoutMs);
      return { status: res.status, text: await readText(res, `GET ${url}`) };
    }),
    async latest() {
      const res = await get(`${ledgerUrl}/checkpoint`, timeoutMs);
      const note = await readText(res, 'GET /checkpoint');
      if (res.status !== 200) throw new WitnessError('FEED_FAILED', `GET /checkpoint: HTTP ${res.status}`);
      return note;
    },
    async consistencyProof(from, to) {
      const res = await get(`${ledgerUrl}/v1/proof/consistency?from=${from}&to=${to}`, timeoutMs);
      const text = await readText(res, 'GET /v1/proof/consistency');
      if (res.status !== 200) throw new WitnessError('FEED_FAILED', `GET /v1/proof/consistency?from=${from}&to=${to}: HTTP ${res.status} ${text.slice(0, 200)}`);
      try {
        // {from, to, proof: [hex]}, u64 values as decimal strings
        const body = JSON.parse(text) as { from?: unknown; to?: unknown; proof?: unknown };
        if (body.from !== from.toString() || body.to !== to.toString() || !Array.isArray(body.proof)) throw new Error('unexpected shape');
        return body.proof.map((h) => fromHex(String(h), 32));
      } catch (cause) {
        throw new WitnessError('FEED_FAILED', `GET /v1/proof/consistency: unusable answer: ${describe(cause)}`, { cause });
      }
    },
  };
}

async function latestCheckpoint(source: CheckpointSource): Promise<{ note: string; checkpoint: Checkpoint }> {
  const note = await source.latest();
  try {
    return { note, checkpoint: parseCheckpointText(parseNote(note).text) };
  } catch (cause) {
    throw new WitnessError('FEED_FAILED', `the latest checkpoint is not a signed checkpoint: ${describe(cause)}`, { cause });
  }
}

async function proofFor(source: CheckpointSource, from: bigint, to: bigint): Promise<Uint8Array[]> {
  if (from === 0n || from === to) return []; // c2sp.org/tlog-witness: empty when old is 0; RFC 9162: empty between equal sizes
  const proof = await source.consistencyProof(from, to);
  if (proof.length > MAX_PROOF_LINES) throw new WitnessError('FEED_FAILED', `consistency proof has ${proof.length} hashes; at most ${MAX_PROOF_LINES}`);
  return proof;
}

export interface SubmitOptions extends Omit<FeedOptions, 'ledgerUrl'> {
  source: CheckpointSource;
}

/** What a plain `old 0` request (no proof, no link) learns about a witness: see probeWitness. */
export type WitnessProbe =
  | { status: 'cosigned'; result: FeedResult } // it had nothing of this ledger: the checkpoint is cosigned (first use)
  | { status: 'known'; size: bigint } // it holds this log at `size` (c2sp 409 size answer)
  | { status: 'elsewhere'; head: WitnessHead }; // rotating ledger: it cosigned another log last (409 witness-head)

/**
 * Asks a witness where it stands for the log of `note` without moving it to a new period (a plain request
 * carries no link): for a submitter that lost its FeederState, e.g. a ledger restarted after a rotation.
 */
export async function probeWitness(o: { witnessUrl: string; note: string; witnessVerifierKey?: string; timeoutMs?: number }): Promise<WitnessProbe> {
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpointText(parseNote(o.note).text);
  } catch (cause) {
    throw new WitnessError('FEED_FAILED', `not a signed checkpoint: ${describe(cause)}`, { cause });
  }
  let res: Response;
  try {
    res = await fetch(`${o.witnessUrl}/add-checkpoint`, { method: 'POST', body: formatAddCheckpointRequest(0n, [], o.note), signal: AbortSignal.timeout(o.timeoutMs ?? 10_000) });
  } catch (cause) {
    throw new WitnessError('FEED_FAILED', `POST ${o.witnessUrl}/add-checkpoint: ${describe(cause)}`, { cause });
  }
  const text = await readText(res, 'add-checkpoint');
  const type = res.headers.get('content-type') ?? '';
  if (res.status === 200) {
    const cosignedNote = o.note + text;
    if (o.witnessVerifierKey !== undefined) {
      try {
        verifyCosignature(cosignedNote, parseCosignatureVerifierKey(o.witnessVerifierKey));
      } catch (cause) {
        throw new WitnessError('FEED_FAILED', `add-checkpoint: no valid cosignature: ${describe(cause)}`, { cause });
      }
    }
    return { status: 'cosigned', result: { cosignature: text, checkpoint: o.note, cosignedNote, size: checkpoint.size } };
  }
  const sizeText = /^(0|[1-9][0-9]{0,19})\n$/.exec(text);
  if (res.status === 409 && type.startsWith(TLOG_SIZE_MEDIA_TYPE) && sizeText) return { status: 'known', size: BigInt(sizeText[1]!) };
  const headText = /^(0|[1-9][0-9]{0,19}) ([^\n]{1,255})\n$/.exec(text);
  if (res.status === 409 && type.startsWith(WITNESS_HEAD_MEDIA_TYPE) && headText) return { status: 'elsewhere', head: { origin: headText[2]!, size: BigInt(headText[1]!) } };
  throw new WitnessError('WITNESS_REFUSED', `add-checkpoint: HTTP ${res.status}: ${text.trim().slice(0, 300)}`);
}

/** Feeds the ledger's latest checkpoint (through its HTTP read API) to one witness; returns the cosignature. */
export async function feedWitness(o: FeedOptions): Promise<FeedResult> {
  return submitToWitness({ ...o, source: ledgerHttpSource(o.ledgerUrl, o.timeoutMs) });
}

/** Submits the source's latest checkpoint to one witness (c2sp.org/tlog-witness add-checkpoint); returns its cosignature. */
export async function submitToWitness(o: SubmitOptions): Promise<FeedResult> {
  const state = o.state ?? {};
  const timeoutMs = o.timeoutMs ?? 10_000;
  const witness = o.witnessVerifierKey === undefined ? undefined : parseCosignatureVerifierKey(o.witnessVerifierKey);
  let { note, checkpoint } = await latestCheckpoint(o.source);
  let refetched = false;
  let linkAnswer: string | undefined;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (state.origin !== undefined && state.origin !== checkpoint.origin) {
      // another log than the one the witness's size is of: a new period, to be linked from where the witness is
      if (state.witnessSize !== undefined) state.linkFrom = { origin: state.origin, size: state.witnessSize };
      state.witnessSize = 0n;
    }
    state.origin = checkpoint.origin;
    const old = state.witnessSize ?? 0n;
    if (old > checkpoint.size) {
      // the witness has seen a larger tree than this checkpoint: take the source's latest once more
      if (refetched) throw new WitnessError('WITNESS_AHEAD', `the witness has cosigned size ${old}; the ledger serves ${checkpoint.size}`);
      ({ note, checkpoint } = await latestCheckpoint(o.source));
      refetched = true;
      attempt--;
      continue;
    }
    const proof = await proofFor(o.source, old, checkpoint.size);
    const link: PeriodLinkMaterial | undefined = old === 0n && o.source.periods ? await buildPeriodLink(o.source.periods, checkpoint, state.linkFrom) : undefined;
    let res: Response;
    try {
      res = await fetch(`${o.witnessUrl}/add-checkpoint`, {
        method: 'POST', body: formatAddCheckpointRequest(old, proof, note, link), signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      throw new WitnessError('FEED_FAILED', `POST ${o.witnessUrl}/add-checkpoint: ${describe(cause)}`, { cause });
    }
    const text = await readText(res, 'add-checkpoint');
    if (res.status === 200) {
      // c2sp.org/tlog-witness: one or more note signature lines, each "— …\n"
      if (text.length === 0 || !text.endsWith('\n') || !text.slice(0, -1).split('\n').every((l) => l.startsWith('\u2014 '))) {
        throw new WitnessError('FEED_FAILED', 'add-checkpoint: the answer is not cosignature lines');
      }
      const cosignedNote = note + text;
      if (witness) {
        try {
          verifyCosignature(cosignedNote, witness);
        } catch (cause) {
          throw new WitnessError('FEED_FAILED', `add-checkpoint: no valid cosignature by ${witness.name}: ${describe(cause)}`, { cause });
        }
      }
      state.witnessSize = checkpoint.size;
      delete state.linkFrom;
      return { cosignature: text, checkpoint: note, cosignedNote, size: checkpoint.size };
    }
    const type = res.headers.get('content-type') ?? '';
    const sizeText = /^(0|[1-9][0-9]{0,19})\n$/.exec(text);
    if (res.status === 409 && type.startsWith(TLOG_SIZE_MEDIA_TYPE) && sizeText) {
      const known = BigInt(sizeText[1]!);
      if (known === old) throw new WitnessError('WITNESS_REFUSED', `add-checkpoint: 409 at the size the witness reports (${known})`);
      state.witnessSize = known; // c2sp.org/tlog-witness: retry from the witness's latest cosigned size
      continue;
    }
    const headText = /^(0|[1-9][0-9]{0,19}) ([^\n]{1,255})\n$/.exec(text);
    if (res.status === 409 && type.startsWith(WITNESS_HEAD_MEDIA_TYPE) && headText && text !== linkAnswer) {
      linkAnswer = text; // extension: the link must reach this log and size; once more with such a link
      state.linkFrom = { origin: headText[2]!, size: BigInt(headText[1]!) };
      continue;
    }
    throw new WitnessError('WITNESS_REFUSED', `add-checkpoint: HTTP ${res.status}: ${text.trim().slice(0, 300)}`);
  }
  throw new WitnessError('WITNESS_REFUSED', `add-checkpoint: still conflicting after ${MAX_ATTEMPTS} attempts`);
}
