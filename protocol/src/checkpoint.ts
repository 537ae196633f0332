// Checkpoints in the C2SP tlog-checkpoint format (https://c2sp.org/tlog-checkpoint), signed as signed notes.
import { fromBase64, toBase64 } from './bytes.js';
import { ProtocolError } from './errors.js';
import { noteSignedBy, parseNote, signNote, type NoteSigner, type NoteVerifier } from './note.js';

export interface Checkpoint {
  origin: string;
  size: bigint;
  root: Uint8Array;
  /** Optional extension lines (without newlines). */
  extensions: string[];
}

export function formatCheckpoint(c: Checkpoint): string {
  // c2sp.org/tlog-checkpoint: origin line, decimal tree size, base64 root hash, then extension lines
  for (const e of c.extensions) if (e.length === 0 || e.includes('\n')) throw new ProtocolError('BAD_CHECKPOINT', 'bad extension line');
  return [c.origin, c.size.toString(10), toBase64(c.root), ...c.extensions].join('\n') + '\n';
}

export function parseCheckpointText(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.length < 4 || lines[lines.length - 1] !== '') throw new ProtocolError('BAD_CHECKPOINT', 'checkpoint needs origin, size and root lines');
  const [origin, sizeText, rootText, ...rest] = lines.slice(0, -1) as [string, string, string, ...string[]];
  if (origin.length === 0) throw new ProtocolError('BAD_CHECKPOINT', 'empty origin line');
  if (!/^(0|[1-9][0-9]{0,19})$/.test(sizeText)) throw new ProtocolError('BAD_CHECKPOINT', 'tree size is not a decimal number');
  const size = BigInt(sizeText);
  if (size >= 1n << 64n) throw new ProtocolError('BAD_CHECKPOINT', 'tree size exceeds 64 bits');
  const root = fromBase64(rootText);
  if (root.length !== 32) throw new ProtocolError('BAD_CHECKPOINT', 'root hash must be 32 bytes');
  if (rest.some((l) => l.length === 0)) throw new ProtocolError('BAD_CHECKPOINT', 'empty extension line');
  return { origin, size, root, extensions: rest };
}

export function signCheckpoint(c: Checkpoint, signer: NoteSigner): string {
  return signNote(formatCheckpoint(c), [signer]);
}

/** Parses a signed checkpoint and checks it is signed by `verifier` for the expected origin. */
export function openCheckpoint(note: string, verifier: NoteVerifier, expectedOrigin?: string): Checkpoint {
  const parsed = parseNote(note);
  if (!noteSignedBy(parsed, verifier)) throw new ProtocolError('BAD_SIGNATURE', `checkpoint is not signed by ${verifier.name}`);
  const c = parseCheckpointText(parsed.text);
  if (expectedOrigin !== undefined && c.origin !== expectedOrigin) {
    throw new ProtocolError('WRONG_ORIGIN', `checkpoint origin "${c.origin}" is not "${expectedOrigin}"`);
  }
  return c;
}
