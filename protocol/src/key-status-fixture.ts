// Test fixture (not exported from the package): a receipt WITH a key-status section, built in memory the way the
// ledger builds it — a log (RFC 9162 tree) holding a registration, the meter's binding, optionally a rotation or a
// revocation before or after the reading's anchor, and a checkpoint whose meterseal-index/v1 line commits a
// three-meter index — so that key-status tests can tamper with one part at a time.
import { encodeAnchor } from './anchor.js';
import { encodeKeyBinding } from './binding.js';
import { formatCheckpoint, signCheckpoint, type Checkpoint } from './checkpoint.js';
import { cosignatureSigner, encodeCosignatureVerifierKey } from './cosignature.js';
import { encodeDelivery } from './delivery.js';
import { generateKeyPair, keyId, type KeyPair } from './ed25519.js';
import { encodeIdentityCertificate } from './identity.js';
import { buildKeyStatus } from './key-status.js';
import { MemoryTree, inclusionProof, leafHash } from './merkle/index.js';
import { indexInclusionProof } from './meter-index-api.js';
import { formatIndexExtension, indexLeafHash, indexRoot, keyEventsRoot, meterLeafHash, type KeyEvent, type MeterIndexLeaf } from './meter-index.js';
import { encodeVerifierKey, noteSigner } from './note.js';
import { signOperatorAction } from './operator.js';
import { buildReceipt, type Receipt } from './receipt.js';
import { reading } from './receipt-fixture.js';
import { encodeReading, readingHash } from './reading.js';
import { encodeRevocation } from './revocation.js';
import { encodeSigned, signRecord } from './signed.js';
import { utf8 } from './bytes.js';

export const KS_ORIGIN = 'meterseal.test/ledger';
const METER = 'MTR-1';

export interface KeyStatusFixtureOptions {
  seq?: bigint;
  firstSeq?: bigint;
  /** Log a revocation of the meter's identity key before or after the reading's anchor. */
  revoke?: 'before' | 'after';
  /** Log a second binding (another key, firstSeq = `rotateFrom`) before the reading's anchor. */
  rotateFrom?: bigint;
  /** Commit this index root in the checkpoint instead of the true one. */
  wrongIndexRoot?: Uint8Array;
}

export interface KeyStatusFixture {
  ledger: KeyPair;
  identity: KeyPair;
  delivery: Uint8Array;
  receipt: Receipt;
  trust: { format: 'meterseal-trust/v1'; origin: string; ledgerVerifierKey: string; witnesses: string[]; quorum: number };
  anchorIndex: bigint;
  revocationIndex?: bigint;
  events: KeyEvent[];
  leaves: MeterIndexLeaf[];
  checkpoint: Checkpoint;
  /** Signs a checkpoint body (with its extension lines) by the ledger key and the witness. */
  sign(c: Checkpoint): string;
}

export function buildKeyStatusFixture(o: KeyStatusFixtureOptions = {}): KeyStatusFixture {
  const seq = o.seq ?? 5n;
  const firstSeq = o.firstSeq ?? 1n;
  const ledger = generateKeyPair();
  const identity = generateKeyPair();
  const session = generateKeyPair();
  const witness = generateKeyPair();
  const tree = new MemoryTree();
  const add = (e: Uint8Array): bigint => tree.append(leafHash(e));
  const events: KeyEvent[] = [];
  const revocations: { entry: Uint8Array; index: bigint }[] = [];
  const idKey = keyId(identity.publicKey);
  const revoke = (): bigint => {
    const record = encodeRevocation({ meterId: METER, identityKeyId: idKey, reason: 'meter stolen', timeMs: 1_790_000_000_000n, operatorCredential: new Uint8Array([1, 2, 3]) });
    const entry = signOperatorAction(record, generateKeyPair().secretKey);
    const index = add(entry);
    events.push({ kind: 'operator', meterId: METER, event: 'revoked', identityKeyId: idKey, leafIndex: index });
    revocations.push({ entry, index });
    return index;
  };
  const bindKey = (key: KeyPair, from: bigint): { entry: Uint8Array; index: bigint } => {
    const record = encodeKeyBinding({ meterId: METER, identityKeyId: idKey, sessionPublicKey: key.publicKey, firstSeq: from, createdAtMs: 2n });
    const entry = encodeSigned(record, signRecord(record, identity.secretKey));
    const index = add(entry);
    events.push({ kind: 'binding', meterId: METER, keyId: keyId(key.publicKey), sessionPublicKey: key.publicKey, firstSeq: from, leafIndex: index });
    return { entry, index };
  };

  add(utf8.encode('registration entry'));
  const certificate = encodeIdentityCertificate({ meterId: METER, identityPublicKey: identity.publicKey, logOrigin: KS_ORIGIN, registrationIndex: 0n, issuedAtMs: 1n });
  const binding = bindKey(session, firstSeq);
  add(utf8.encode('another entry'));
  if (o.rotateFrom !== undefined) bindKey(generateKeyPair(), o.rotateFrom);
  let revocationIndex = o.revoke === 'before' ? revoke() : undefined;
  const encoded = encodeReading(reading(METER, seq));
  const anchorRecord = { meterId: METER, seq, keyId: keyId(session.publicKey), readingHash: readingHash(encoded) };
  const anchor = encodeAnchor(anchorRecord);
  const signature = signRecord(anchor, session.secretKey);
  const signedAnchor = encodeSigned(anchor, signature);
  const anchorIndex = add(signedAnchor);
  if (o.revoke === 'after') revocationIndex = revoke();
  add(utf8.encode('a later entry'));

  // the per-meter index: three meters sorted by id; MTR-1's tree holds its one anchor
  const other = (meterId: string, fill: number): MeterIndexLeaf => ({ meterId, treeSize: 2n, treeRoot: new Uint8Array(32).fill(fill), keyEventsSize: 0n, keyEventsRoot: keyEventsRoot([]) });
  const mine: MeterIndexLeaf = { meterId: METER, treeSize: 1n, treeRoot: meterLeafHash(anchorRecord), keyEventsSize: BigInt(events.length), keyEventsRoot: keyEventsRoot(events) };
  const leaves = [other('AAA-0', 1), mine, other('ZZZ-9', 2)];
  const size = tree.size;
  const checkpoint: Checkpoint = {
    origin: KS_ORIGIN, size, root: tree.root(size),
    extensions: [formatIndexExtension({ meters: BigInt(leaves.length), root: o.wrongIndexRoot ?? indexRoot(leaves) })], // c2sp.org/tlog-checkpoint extension line
  };
  const sign = (c: Checkpoint): string =>
    signCheckpoint(c, noteSigner(KS_ORIGIN, ledger.secretKey)) + cosignatureSigner('witness.test/w0', witness.secretKey).signCosignature(formatCheckpoint(c), 1_790_000_000n);
  const note = sign(checkpoint);
  const keyStatus = buildKeyStatus({
    indexLeaf: mine, position: 1n, indexPath: indexInclusionProof(leaves.map(indexLeafHash), 1), checkpoint: note, keyEvents: events,
    revocations: revocations.map((r) => ({ ...r, proof: inclusionProof(tree, r.index, size) })),
  });
  const receipt = buildReceipt({
    meterId: METER, seq,
    anchorEntry: signedAnchor, anchorProof: { index: anchorIndex, proof: inclusionProof(tree, anchorIndex, size), checkpoint: note },
    bindingEntry: binding.entry, bindingProof: { index: binding.index, proof: inclusionProof(tree, binding.index, size), checkpoint: note },
    certificate, certificateSignature: signRecord(certificate, ledger.secretKey),
    keyStatus,
  });
  return {
    ledger, identity, receipt, anchorIndex, events, leaves, checkpoint, sign,
    ...(revocationIndex !== undefined ? { revocationIndex } : {}),
    delivery: encodeDelivery({ keyId: keyId(session.publicKey), reading: encoded, signature }),
    trust: {
      format: 'meterseal-trust/v1', origin: KS_ORIGIN, ledgerVerifierKey: encodeVerifierKey(KS_ORIGIN, ledger.publicKey),
      witnesses: [encodeCosignatureVerifierKey('witness.test/w0', witness.publicKey)], quorum: 1,
    },
  };
}
