// The add-checkpoint request body (c2sp.org/tlog-witness §add-checkpoint), parsed strictly from outside
// bytes: `old <size>\n`, up to 63 base64 hash lines, an empty line, then a signed checkpoint note.
// Everything here is checked without keys; a failure is a WitnessError MALFORMED (HTTP 400).
// Extension (README "Ledgers that rotate their log"): with `old 0`, instead of the (then empty) proof, the
// link of a new period's log — `link <base64 entry 0>` each followed by its `link-proof <base64 hash>` lines,
// then `link-consistency <base64 hash>` lines. A plain c2sp.org/tlog-witness body has none of these.
import {
  fromBase64, parseCheckpointText, parseNote, ProtocolError, utf8, type Checkpoint, type NoteSignature,
} from '@meterseal/protocol';
import { WitnessError } from './errors.js';

/** c2sp.org/tlog-witness: "The client MUST NOT send more than 63 consistency proof lines." */
export const MAX_PROOF_LINES = 63;
/** Largest request accepted: a checkpoint note with a few signatures and a full proof fit many times over. */
export const MAX_REQUEST_BYTES = 32 * 1024; // 16 KiB for c2sp bodies, doubled for period links (MAX_LINK_GROUPS)

/** c2sp.org/tlog-witness: the media type of a 409 body (the latest cosigned size, decimal, newline). */
export const TLOG_SIZE_MEDIA_TYPE = 'text/x.tlog.size';

const U64_LIMIT = 1n << 64n;

/**
 * Extension: the media type of a 409 LINK_REQUIRED answer, `<size> <origin>\n` — the log of a rotating ledger this
 * witness cosigned last and its cosigned size, which the link of a new period log must reach.
 */
export const WITNESS_HEAD_MEDIA_TYPE = 'text/x.meterseal.witness-head';

/** Link groups in one request: the new log's, then one per period the witness skipped. */
export const MAX_LINK_GROUPS = 4;
/** Largest entry 0 (a PreviousLog record: origin, counters and one checkpoint note). */
export const MAX_LINK_ENTRY_BYTES = 4096;

/** One period log's entry 0 (a PreviousLog record, protocol previous-log.ts) and its RFC 9162 inclusion proof. */
export interface LinkGroup {
  entry: Uint8Array;
  proof: Uint8Array[];
}

/** The period link of an `old 0` request (extension): groups newest first, then the consistency proof. */
export interface PeriodLinkMaterial {
  groups: LinkGroup[];
  /** RFC 9162 consistency proof from the witness's cosigned head to the checkpoint the last group commits. */
  consistency: Uint8Array[];
}

export interface AddCheckpointRequest {
  oldSize: bigint;
  proof: Uint8Array[];
  /** The checkpoint note exactly as sent (text, empty line, signature lines). */
  note: string;
  /** The note's text (the checkpoint body that is cosigned) and its signature lines, not yet verified. */
  text: string;
  signatures: NoteSignature[];
  checkpoint: Checkpoint;
  /** The period link extension, when the request carries one (only with `old 0`). */
  link?: PeriodLinkMaterial;
}

function malformed(message: string, cause?: unknown): WitnessError {
  return new WitnessError('MALFORMED', message, cause === undefined ? {} : { cause });
}

export function parseAddCheckpointRequest(bytes: Uint8Array): AddCheckpointRequest {
  if (bytes.length > MAX_REQUEST_BYTES) throw malformed(`request body exceeds ${MAX_REQUEST_BYTES} bytes`);
  let body: string;
  try {
    body = utf8.decode(bytes);
  } catch (cause) {
    throw malformed('request body is not UTF-8', cause);
  }
  const split = body.indexOf('\n\n');
  if (split < 0) throw malformed('request body has no empty line before the checkpoint');
  const head = body.slice(0, split).split('\n');
  const note = body.slice(split + 2);

  // c2sp.org/tlog-witness: "old", one space, ASCII decimal with no leading zeroes
  const m = /^old (0|[1-9][0-9]{0,19})$/.exec(head[0]!);
  if (!m) throw malformed('the first line must be "old <size>" in decimal without leading zeros');
  const oldSize = BigInt(m[1]!);
  if (oldSize >= U64_LIMIT) throw malformed('old size exceeds 64 bits');

  const proofLines = head.slice(1);
  const link = proofLines.some((l) => l.includes(' ')) ? parseLink(proofLines, oldSize) : undefined; // base64 has no space
  if (link) proofLines.length = 0;
  if (proofLines.length > MAX_PROOF_LINES) throw malformed(`more than ${MAX_PROOF_LINES} consistency proof lines`);
  const proof = proofLines.map((line, i) => hashLine(line, `proof line ${i + 1}`));
  // c2sp.org/tlog-witness: "The proof MUST be empty if the old size is zero."
  if (oldSize === 0n && proof.length > 0) throw malformed('the consistency proof must be empty when the old size is 0');

  let parsed: { text: string; signatures: NoteSignature[] };
  let checkpoint: Checkpoint;
  try {
    parsed = parseNote(note);
    checkpoint = parseCheckpointText(parsed.text);
  } catch (cause) {
    if (cause instanceof ProtocolError) throw malformed(`bad checkpoint note: ${cause.message}`, cause);
    throw cause;
  }
  // c2sp.org/tlog-witness: "The old size MUST be equal to or lower than the checkpoint size" (else 400)
  if (oldSize > checkpoint.size) throw malformed(`old size ${oldSize} is larger than the checkpoint size ${checkpoint.size}`);
  return { oldSize, proof, note, text: parsed.text, signatures: parsed.signatures, checkpoint, ...(link ? { link } : {}) };
}

function hashLine(line: string, what: string): Uint8Array {
  let h: Uint8Array;
  try {
    h = fromBase64(line); // RFC 4648 §4, canonical
  } catch (cause) {
    throw malformed(`${what} is not canonical base64`, cause);
  }
  if (h.length !== 32) throw malformed(`${what} is not a 32-byte hash`);
  return h;
}

/** The link extension: (`link E` `link-proof H`*)+ `link-consistency H`*, one keyword and one value per line. */
function parseLink(lines: readonly string[], oldSize: bigint): PeriodLinkMaterial {
  if (oldSize !== 0n) throw malformed('link lines are only allowed with old 0 (the first checkpoint of a period log)');
  const groups: LinkGroup[] = [];
  const consistency: Uint8Array[] = [];
  lines.forEach((line, i) => {
    const sp = line.indexOf(' ');
    const key = sp < 0 ? line : line.slice(0, sp);
    const value = sp < 0 ? '' : line.slice(sp + 1);
    const what = `line ${i + 2} (${key.slice(0, 20)})`;
    if (key === 'link') {
      if (consistency.length > 0) throw malformed(`${what}: a link line after the link-consistency lines`);
      if (groups.length >= MAX_LINK_GROUPS) throw malformed(`more than ${MAX_LINK_GROUPS} link lines`);
      let entry: Uint8Array;
      try {
        entry = fromBase64(value);
      } catch (cause) {
        throw malformed(`${what}: entry 0 is not canonical base64`, cause);
      }
      if (entry.length === 0 || entry.length > MAX_LINK_ENTRY_BYTES) throw malformed(`${what}: entry 0 must be 1..${MAX_LINK_ENTRY_BYTES} bytes`);
      groups.push({ entry, proof: [] });
    } else if (key === 'link-proof') {
      const g = groups[groups.length - 1];
      if (!g || consistency.length > 0) throw malformed(`${what}: a link-proof line must follow a link line`);
      if (g.proof.length >= MAX_PROOF_LINES) throw malformed(`${what}: more than ${MAX_PROOF_LINES} link-proof lines for one link`);
      g.proof.push(hashLine(value, what));
    } else if (key === 'link-consistency') {
      if (groups.length === 0) throw malformed(`${what}: link-consistency lines need a link line first`);
      if (consistency.length >= MAX_PROOF_LINES) throw malformed(`more than ${MAX_PROOF_LINES} link-consistency lines`);
      consistency.push(hashLine(value, what));
    } else {
      throw malformed(`${what}: with link lines, every line before the checkpoint must be link, link-proof or link-consistency`);
    }
  });
  return { groups, consistency };
}

/** Builds a request body (the feeder's side, and tests); `link` only with old size 0. */
export function formatAddCheckpointRequest(oldSize: bigint, proof: readonly Uint8Array[], note: string, link?: PeriodLinkMaterial): string {
  const b64 = (h: Uint8Array): string => Buffer.from(h).toString('base64');
  let lines = proof.map((h) => `${b64(h)}\n`).join('');
  if (link) {
    for (const g of link.groups) lines += `link ${b64(g.entry)}\n${g.proof.map((h) => `link-proof ${b64(h)}\n`).join('')}`;
    lines += link.consistency.map((h) => `link-consistency ${b64(h)}\n`).join('');
  }
  return `old ${oldSize.toString(10)}\n${lines}\n${note}`;
}
