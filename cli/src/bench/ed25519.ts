// `ed25519`: the two verifiers of protocol/src/ed25519.ts on one core over the same pre-signed anchors —
// Node native (OpenSSL, a KeyObject prepared once, as the ledger's key cache does) against noble strict
// (what the device and any JS auditor run) — and the device's signer (noble) against native signing.
import { randomBytes } from 'node:crypto';
import {
  bytesEqual, encodeAnchor, generateKeyPair, keyId, nativePublicKey, sign, signRecord, signingMessage,
  verifyNative, verifyNoble,
} from '@meterseal/protocol';
import { nativeSecretKey, signNative } from './sign-native.js';
import { measureRates } from './timing.js';
import { compare, timingFor, type Benchmark } from './types.js';

export const DEFAULT_ANCHORS = 2000;

export const ed25519Bench: Benchmark = {
  name: 'ed25519',
  description: 'Ed25519 verify on one core: native (OpenSSL) vs noble strict, and noble signing vs native',
  async run({ n = DEFAULT_ANCHORS, progress, quick }) {
    const timing = timingFor({ quick });
    const session = generateKeyPair();
    const kid = keyId(session.publicKey);
    const records: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      records.push(encodeAnchor({ meterId: 'bench-meter-0001', seq: BigInt(i + 1), keyId: kid, readingHash: new Uint8Array(randomBytes(32)) }));
    }
    progress(`ed25519: signing ${n} anchors with noble (signRecord)`);
    const signed = records.map((record) => ({ message: signingMessage(record), signature: signRecord(record, session.secretKey) }));
    const messages = signed.map((s) => s.message);

    const keyObject = nativePublicKey(session.publicKey);
    const secretObject = nativeSecretKey(session.secretKey);
    // Every timed verify must accept (mustAccept below), and native signing must give noble's bytes.
    if (!bytesEqual(signNative(signed[0]!.message, secretObject), signed[0]!.signature)) throw new Error('native and noble signatures differ');

    progress(`ed25519: verifying ${n} anchors, native and noble in alternating rounds`);
    const [native, noble] = measureRates([
      { items: signed, op: (s: (typeof signed)[number]) => verifyNative(s.signature, s.message, keyObject), mustAccept: true },
      { items: signed, op: (s: (typeof signed)[number]) => verifyNoble(s.signature, s.message, session.publicKey), mustAccept: true },
    ], timing);
    progress('ed25519: signing, noble and native in alternating rounds');
    const [nobleSign, nativeSign] = measureRates([
      { items: messages, op: (m: Uint8Array) => sign(m, session.secretKey) },
      { items: messages, op: (m: Uint8Array) => signNative(m, secretObject) },
    ], timing);

    return {
      name: 'ed25519',
      params: { anchors: n, signedMessageBytes: messages[0]!.length, rounds: timing.rounds, roundMs: timing.roundMs },
      figures: [
        compare(
          { metric: 'verify native (1 core)', value: native!, unit: 'verifies/s' },
          { metric: 'verify noble strict (1 core)', value: noble!, unit: 'verifies/s' },
          'ratio ~10-15 (protocol/src/ed25519.ts: ~13x)',
        ),
        compare(
          { metric: 'sign noble (device path, 1 core)', value: nobleSign!, unit: 'signs/s' },
          { metric: 'sign native (1 core)', value: nativeSign!, unit: 'signs/s' },
        ),
      ],
    };
  },
};
