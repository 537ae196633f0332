// C2SP signed-note (https://c2sp.org/signed-note) with Ed25519 signatures, and the note verifier-key format.
import { sha256 } from './hash.js';
import { bytesEqual, concatBytes, fromBase64, toBase64, toHex, utf8 } from './bytes.js';
import { sign, verifyNative, publicKeyFromSecret, assertAcceptablePublicKey } from './ed25519.js';
import { ProtocolError } from './errors.js';

const ALG_ED25519 = 0x01; // c2sp.org/signed-note: signature type 0x01 = Ed25519
const EM_DASH = '\u2014'; // c2sp.org/signed-note: signature lines start with U+2014 and a space
export const MAX_NOTE_BYTES = 1 << 16;

export interface NoteSigner {
  name: string;
  keyHash: Uint8Array;
  sign(text: Uint8Array): Uint8Array;
}

export interface NoteVerifier {
  name: string;
  keyHash: Uint8Array;
  publicKey: Uint8Array;
}

export interface NoteSignature {
  name: string;
  keyHash: Uint8Array;
  signature: Uint8Array;
}

function assertKeyName(name: string): void {
  // c2sp.org/signed-note: a key name is non-empty UTF-8 with no Unicode spaces and no '+'
  if (name.length === 0 || /[\s+]/u.test(name)) throw new ProtocolError('BAD_KEY_NAME', `invalid note key name "${name.slice(0, 80)}"`);
}

/** Key hash: first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key) — c2sp.org/signed-note. */
export function noteKeyHash(name: string, publicKey: Uint8Array): Uint8Array {
  return sha256(utf8.encode(name), new Uint8Array([0x0a, ALG_ED25519]), publicKey).slice(0, 4);
}

export function noteSigner(name: string, secretKey: Uint8Array): NoteSigner {
  assertKeyName(name);
  const publicKey = publicKeyFromSecret(secretKey);
  return { name, keyHash: noteKeyHash(name, publicKey), sign: (text) => sign(text, secretKey) };
}

/** The verifier key string `<name>+<hex key hash>+<base64(0x01 || public key)>` — c2sp.org/signed-note. */
export function encodeVerifierKey(name: string, publicKey: Uint8Array): string {
  assertKeyName(name);
  return `${name}+${toHex(noteKeyHash(name, publicKey))}+${toBase64(concatBytes(new Uint8Array([ALG_ED25519]), publicKey))}`;
}

export function parseVerifierKey(vkey: string): NoteVerifier {
  // name+hash+key: the base64 key material may itself contain '+', so split at the first two only
  const p1 = vkey.indexOf('+');
  const p2 = p1 < 0 ? -1 : vkey.indexOf('+', p1 + 1);
  if (p1 < 0 || p2 < 0) throw new ProtocolError('BAD_VKEY', 'verifier key must be name+hash+key');
  const name = vkey.slice(0, p1);
  const hashHex = vkey.slice(p1 + 1, p2);
  const keyB64 = vkey.slice(p2 + 1);
  assertKeyName(name);
  if (!/^[0-9a-f]{8}$/.test(hashHex)) throw new ProtocolError('BAD_VKEY', 'verifier key hash must be 8 lowercase hex digits');
  const key = fromBase64(keyB64);
  if (key.length !== 33 || key[0] !== ALG_ED25519) throw new ProtocolError('BAD_VKEY', 'verifier key is not an Ed25519 key');
  const publicKey = key.slice(1);
  assertAcceptablePublicKey(publicKey);
  const keyHash = noteKeyHash(name, publicKey);
  if (toHex(keyHash) !== hashHex) throw new ProtocolError('BAD_VKEY', 'verifier key hash does not match the key');
  return { name, keyHash, publicKey };
}

/** Signs `text` (which must end in a newline) and returns the whole note. */
export function signNote(text: string, signers: NoteSigner[]): string {
  if (!text.endsWith('\n')) throw new ProtocolError('BAD_NOTE', 'note text must end with a newline');
  const bytes = utf8.encode(text);
  const lines = signers.map((s) => `${EM_DASH} ${s.name} ${toBase64(concatBytes(s.keyHash, s.sign(bytes)))}\n`);
  return `${text}\n${lines.join('')}`;
}

/** Splits a note into its text and signature lines; hostile input gets a typed error. */
export function parseNote(note: string): { text: string; signatures: NoteSignature[] } {
  if (utf8.encode(note).length > MAX_NOTE_BYTES) throw new ProtocolError('BAD_NOTE', 'note too large');
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new ProtocolError('BAD_NOTE', 'note has no signature block');
  const text = note.slice(0, split + 1);
  const sigLines = note.slice(split + 2, -1).split('\n');
  const signatures: NoteSignature[] = [];
  for (const line of sigLines) {
    const parts = line.split(' ');
    if (parts.length !== 3 || parts[0] !== EM_DASH) throw new ProtocolError('BAD_NOTE', 'malformed signature line');
    const [, name, b64] = parts as [string, string, string];
    assertKeyName(name);
    const blob = fromBase64(b64);
    if (blob.length < 5) throw new ProtocolError('BAD_NOTE', 'signature too short');
    signatures.push({ name, keyHash: blob.slice(0, 4), signature: blob.slice(4) });
  }
  if (signatures.length === 0) throw new ProtocolError('BAD_NOTE', 'note has no signatures');
  return { text, signatures };
}

/** True if some signature on the note is a valid one by `verifier`. */
export function noteSignedBy(note: { text: string; signatures: NoteSignature[] }, verifier: NoteVerifier): boolean {
  const bytes = utf8.encode(note.text);
  return note.signatures.some(
    (s) => s.name === verifier.name && bytesEqual(s.keyHash, verifier.keyHash) && verifyNative(s.signature, bytes, verifier.publicKey),
  );
}
