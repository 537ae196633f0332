// The add-checkpoint request body (c2sp.org/tlog-witness §add-checkpoint), parsed strictly from outside
// bytes: `old <size>\n`, up to 63 base64 hash lines, an empty line, then a signed checkpoint note.
// Everything here is checked without keys; a failure is a WitnessError MALFORMED (HTTP 400).
import {
  fromBase64, parseCheckpointText, parseNote, ProtocolError, utf8, type Checkpoint, type NoteSignature,
} from '@meterseal/protocol';
import { WitnessError } from './errors.js';

/** c2sp.org/tlog-witness: "The client MUST NOT send more than 63 consistency proof lines." */
export const MAX_PROOF_LINES = 63;
/** Largest request accepted: a checkpoint note with a few signatures and a full proof fit many times over. */
export const MAX_REQUEST_BYTES = 16 * 1024;

/** c2sp.org/tlog-witness: the media type of a 409 body (the latest cosigned size, decimal, newline). */
export const TLOG_SIZE_MEDIA_TYPE = 'text/x.tlog.size';

const U64_LIMIT = 1n << 64n;

export interface AddCheckpointRequest {
  oldSize: bigint;
  proof: Uint8Array[];
  /** The checkpoint note exactly as sent (text, empty line, signature lines). */
  note: string;
  /** The note's text (the checkpoint body that is cosigned) and its signature lines, not yet verified. */
  text: string;
  signatures: NoteSignature[];
  checkpoint: Checkpoint;
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
  if (proofLines.length > MAX_PROOF_LINES) throw malformed(`more than ${MAX_PROOF_LINES} consistency proof lines`);
  const proof = proofLines.map((line, i) => {
    let h: Uint8Array;
    try {
      h = fromBase64(line); // RFC 4648 §4, canonical
    } catch (cause) {
      throw malformed(`proof line ${i + 1} is not canonical base64`, cause);
    }
    if (h.length !== 32) throw malformed(`proof line ${i + 1} is not a 32-byte hash`);
    return h;
  });
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
  return { oldSize, proof, note, text: parsed.text, signatures: parsed.signatures, checkpoint };
}

/** Builds a request body (the feeder's side, and tests). */
export function formatAddCheckpointRequest(oldSize: bigint, proof: readonly Uint8Array[], note: string): string {
  const lines = proof.map((h) => `${Buffer.from(h).toString('base64')}\n`).join('');
  return `old ${oldSize.toString(10)}\n${lines}\n${note}`;
}
