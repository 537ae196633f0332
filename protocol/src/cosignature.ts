// Witness cosignatures, C2SP tlog-cosignature (https://c2sp.org/tlog-cosignature), Ed25519 type
// "cosignature/v1": a signed-note signature line whose key id uses algorithm byte 0x04 and whose signature
// is a timestamped_signature (u64 big-endian POSIX seconds || Ed25519 signature) over
// "cosignature/v1\ntime <seconds>\n" || the checkpoint body.
import { sha256 } from './hash.js';
import { bytesEqual, concatBytes, fromBase64, toBase64, toHex, utf8 } from './bytes.js';
import { assertAcceptablePublicKey, nativePublicKey, publicKeyFromSecret, sign, verifyNative, SIGNATURE_LENGTH } from './ed25519.js';
import { ProtocolError } from './errors.js';
import { parseCheckpointText } from './checkpoint.js';
import { parseNote, type NoteSignature } from './note.js';

/** c2sp.org/tlog-cosignature: the vkey signature type / key-id algorithm byte of Ed25519 cosignature/v1. */
export const COSIGNATURE_V1_ALG = 0x04;
const EM_DASH = '\u2014'; // c2sp.org/signed-note: signature lines start with U+2014 and a space
const TIMESTAMP_LENGTH = 8; // c2sp.org/tlog-cosignature: u64 timestamp, big-endian (RFC 8446 §3.3)
const MAX_TIMESTAMP = (1n << 63n) - 1n; // c2sp.org/tlog-cosignature: the timestamp MUST NOT exceed 2^63 - 1

export interface CosignatureVerifier {
  readonly type: 'cosignature/v1';
  name: string;
  keyHash: Uint8Array;
  publicKey: Uint8Array;
}

export interface CosignatureSigner {
  readonly type: 'cosignature/v1';
  name: string;
  keyHash: Uint8Array;
  publicKey: Uint8Array;
  /** The cosignature line `— <name> base64(keyid || u64 timestamp || sig)\n` over a checkpoint body. */
  signCosignature(checkpointBody: string, timestampSeconds: bigint | number): string;
}

function assertKeyName(name: string): void {
  // c2sp.org/signed-note: a key name is non-empty UTF-8 with no Unicode spaces and no '+'
  if (typeof name !== 'string' || name.length === 0 || /[\s+]/u.test(name)) {
    throw new ProtocolError('BAD_KEY_NAME', `invalid note key name "${String(name).slice(0, 80)}"`);
  }
}

function toTimestamp(t: bigint | number): bigint {
  const v = typeof t === 'bigint' ? t : Number.isSafeInteger(t) ? BigInt(t) : -1n;
  if (v < 0n || v > MAX_TIMESTAMP) throw new ProtocolError('BAD_TIMESTAMP', 'cosignature timestamp must be an integer from 0 to 2^63-1 seconds');
  return v;
}

/** Key id: first 4 bytes of SHA-256(name || 0x0A || 0x04 || public key) — c2sp.org/tlog-cosignature §Format. */
export function cosignatureKeyHash(name: string, publicKey: Uint8Array): Uint8Array {
  return sha256(utf8.encode(name), new Uint8Array([0x0a, COSIGNATURE_V1_ALG]), publicKey).slice(0, 4);
}

/** The signed message: "cosignature/v1\ntime <t>\n" || body — c2sp.org/tlog-cosignature §Ed25519 signed message. */
export function cosignatureMessage(checkpointBody: string, timestampSeconds: bigint | number): Uint8Array {
  const t = toTimestamp(timestampSeconds);
  return utf8.encode(`cosignature/v1\ntime ${t.toString(10)}\n${checkpointBody}`);
}

/** The vkey `<name>+<hex key id>+base64(0x04 || public key)` — c2sp.org/tlog-cosignature, c2sp.org/signed-note. */
export function encodeCosignatureVerifierKey(name: string, publicKey: Uint8Array): string {
  assertKeyName(name);
  assertAcceptablePublicKey(publicKey);
  return `${name}+${toHex(cosignatureKeyHash(name, publicKey))}+${toBase64(concatBytes(new Uint8Array([COSIGNATURE_V1_ALG]), publicKey))}`;
}

export function parseCosignatureVerifierKey(vkey: string): CosignatureVerifier {
  if (typeof vkey !== 'string' || vkey.length > 1024) throw new ProtocolError('BAD_VKEY', 'verifier key must be a short string');
  // name+hash+key: the base64 key material may itself contain '+', so split at the first two only
  const p1 = vkey.indexOf('+');
  const p2 = p1 < 0 ? -1 : vkey.indexOf('+', p1 + 1);
  if (p1 < 0 || p2 < 0) throw new ProtocolError('BAD_VKEY', 'verifier key must be name+hash+key');
  const name = vkey.slice(0, p1);
  const hashHex = vkey.slice(p1 + 1, p2);
  assertKeyName(name);
  if (!/^[0-9a-f]{8}$/.test(hashHex)) throw new ProtocolError('BAD_VKEY', 'verifier key hash must be 8 lowercase hex digits');
  let key: Uint8Array;
  try {
    key = fromBase64(vkey.slice(p2 + 1));
  } catch (cause) {
    throw new ProtocolError('BAD_VKEY', 'verifier key material is not canonical base64', { cause });
  }
  if (key.length !== 33 || key[0] !== COSIGNATURE_V1_ALG) {
    throw new ProtocolError('BAD_VKEY', 'verifier key is not an Ed25519 cosignature/v1 key (type 0x04)');
  }
  const publicKey = key.slice(1);
  try {
    assertAcceptablePublicKey(publicKey);
  } catch (cause) {
    throw new ProtocolError('BAD_VKEY', 'verifier key is not an acceptable Ed25519 public key', { cause });
  }
  const keyHash = cosignatureKeyHash(name, publicKey);
  if (toHex(keyHash) !== hashHex) throw new ProtocolError('BAD_VKEY', 'verifier key hash does not match the key');
  return { type: 'cosignature/v1', name, keyHash, publicKey };
}

export function cosignatureSigner(name: string, secretKey: Uint8Array): CosignatureSigner {
  assertKeyName(name);
  const publicKey = publicKeyFromSecret(secretKey);
  const keyHash = cosignatureKeyHash(name, publicKey);
  return {
    type: 'cosignature/v1',
    name,
    keyHash,
    publicKey,
    signCosignature(checkpointBody, timestampSeconds) {
      // only checkpoints are cosigned: the body must parse as c2sp.org/tlog-checkpoint text
      parseCheckpointText(checkpointBody);
      const t = toTimestamp(timestampSeconds);
      const ts = new Uint8Array(TIMESTAMP_LENGTH);
      new DataView(ts.buffer).setBigUint64(0, t, false); // c2sp.org/tlog-cosignature: big-endian u64
      const sig = sign(cosignatureMessage(checkpointBody, t), secretKey);
      return `${EM_DASH} ${name} ${toBase64(concatBytes(keyHash, ts, sig))}\n`; // c2sp.org/signed-note signature line
    },
  };
}

/** The timestamp of one note signature if it is a valid cosignature by `v` over `textBytes`, else null. */
function checkOne(s: NoteSignature, text: string, v: CosignatureVerifier, key: ReturnType<typeof nativePublicKey>): bigint | null {
  if (s.name !== v.name || !bytesEqual(s.keyHash, v.keyHash)) return null;
  if (s.signature.length !== TIMESTAMP_LENGTH + SIGNATURE_LENGTH) return null;
  const t = new DataView(s.signature.buffer, s.signature.byteOffset, TIMESTAMP_LENGTH).getBigUint64(0, false);
  if (t > MAX_TIMESTAMP) return null;
  return verifyNative(s.signature.slice(TIMESTAMP_LENGTH), cosignatureMessage(text, t), key) ? t : null;
}

export interface VerifyCosignatureOptions {
  /** Refuse cosignatures dated after this POSIX time (seconds); c2sp.org/tlog-cosignature allows rejecting future ones. */
  notAfterSeconds?: bigint | number;
}

/**
 * Checks that a signed note (a checkpoint with its signature lines) carries a valid cosignature/v1 by
 * `witness`; returns its timestamp (the latest, if the witness signed more than once). Signatures by
 * other keys are ignored. Throws ProtocolError NO_COSIGNATURE if there is none, BAD_NOTE for a malformed note.
 */
export function verifyCosignature(note: string, witness: CosignatureVerifier, o: VerifyCosignatureOptions = {}): { timestamp: bigint } {
  const parsed = parseNote(note);
  const notAfter = o.notAfterSeconds === undefined ? MAX_TIMESTAMP : toTimestamp(o.notAfterSeconds);
  const key = nativePublicKey(witness.publicKey);
  let best: bigint | null = null;
  for (const s of parsed.signatures) {
    const t = checkOne(s, parsed.text, witness, key);
    if (t !== null && t <= notAfter && (best === null || t > best)) best = t;
  }
  if (best === null) throw new ProtocolError('NO_COSIGNATURE', `no valid cosignature by ${witness.name} on the note`);
  return { timestamp: best };
}

/**
 * Quorum helper: how many distinct witnesses among `verifiers` validly cosigned the note. Witnesses are
 * counted by public key, since a cosignature/v1 does not commit to the witness name (one key listed under
 * two names counts once).
 */
export function countWitnesses(note: string, verifiers: readonly CosignatureVerifier[], o: VerifyCosignatureOptions = {}): number {
  const parsed = parseNote(note);
  const notAfter = o.notAfterSeconds === undefined ? MAX_TIMESTAMP : toTimestamp(o.notAfterSeconds);
  const seen = new Set<string>();
  for (const v of verifiers) {
    const id = toHex(v.publicKey);
    if (seen.has(id)) continue;
    const key = nativePublicKey(v.publicKey);
    if (parsed.signatures.some((s) => { const t = checkOne(s, parsed.text, v, key); return t !== null && t <= notAfter; })) seen.add(id);
  }
  return seen.size;
}
