import t from 'tap';
import * as ed from '@noble/ed25519';
import { fromHex, toHex } from './bytes.js';
import {
  assertAcceptablePublicKey, generateKeyPair, keyId, publicKeyFromSecret, sign, verifyNative, verifyNoble,
} from './ed25519.js';
import { readJson } from './test-helpers.js';

interface Rfc8032 { vectors: { name: string; secret_key: string; public_key: string; message: string; signature: string }[] }
interface Wycheproof {
  numberOfTests: number;
  testGroups: { publicKey: { pk: string }; tests: { tcId: number; comment: string; msg: string; sig: string; result: 'valid' | 'invalid' }[] }[];
}

t.test('RFC 8032 §7.1: noble derives the public key and signs byte for byte; both verifiers accept', async (t) => {
  const { vectors } = readJson<Rfc8032>('ed25519/rfc8032_section7.1_ed25519.json');
  t.ok(vectors.length >= 5);
  for (const v of vectors) {
    const sk = fromHex(v.secret_key);
    const msg = fromHex(v.message);
    const pk = fromHex(v.public_key);
    const sig = fromHex(v.signature);
    t.equal(toHex(publicKeyFromSecret(sk)), v.public_key, `${v.name}: public key`);
    t.equal(toHex(sign(msg, sk)), v.signature, `${v.name}: signature`);
    t.ok(verifyNoble(sig, msg, pk), `${v.name}: noble verifies`);
    t.ok(verifyNative(sig, msg, pk), `${v.name}: native verifies`);
    const bad = sig.slice();
    bad[0]! ^= 1;
    t.notOk(verifyNoble(bad, msg, pk), `${v.name}: noble rejects a flipped bit`);
    t.notOk(verifyNative(bad, msg, pk), `${v.name}: native rejects a flipped bit`);
  }
});

t.test('Wycheproof ed25519: noble (ZIP-215 off) and native crypto both give the expected result for every case', async (t) => {
  const w = readJson<Wycheproof>('ed25519/wycheproof_ed25519_test.json');
  let n = 0;
  for (const g of w.testGroups) {
    const pk = fromHex(g.publicKey.pk);
    for (const c of g.tests) {
      const want = c.result === 'valid';
      const msg = fromHex(c.msg);
      const sig = fromHex(c.sig);
      t.equal(verifyNoble(sig, msg, pk), want, `tcId ${c.tcId} noble (${c.comment})`);
      t.equal(verifyNative(sig, msg, pk), want, `tcId ${c.tcId} native (${c.comment})`);
      n++;
    }
  }
  t.equal(n, w.numberOfTests, 'every Wycheproof case was run');
});

t.test('noble and native agree on random signatures and on single-bit mutations of them', async (t) => {
  let disagreements = 0;
  let cases = 0;
  for (let i = 0; i < 40; i++) {
    const { secretKey, publicKey } = generateKeyPair();
    const msg = new Uint8Array(i * 7);
    msg.fill(i);
    const sig = sign(msg, secretKey);
    const variants: [Uint8Array, Uint8Array, Uint8Array][] = [[sig, msg, publicKey]];
    for (const pos of [0, 31, 32, 63]) {
      const s = sig.slice();
      s[pos]! ^= 1 << i % 8;
      variants.push([s, msg, publicKey]);
    }
    const k = publicKey.slice();
    k[5]! ^= 0x10;
    variants.push([sig, msg, k]);
    for (const [s, m, p] of variants) {
      cases++;
      if (verifyNoble(s, m, p) !== verifyNative(s, m, p)) disagreements++;
    }
  }
  t.equal(disagreements, 0, `no disagreement in ${cases} cases`);
});

t.test('a signature with S + L (malleated) is rejected by both (RFC 8032 §5.1.7: S < L)', async (t) => {
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  const { secretKey, publicKey } = generateKeyPair();
  const msg = new Uint8Array([1, 2, 3]);
  const sig = sign(msg, secretKey);
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
  s += L;
  const mal = sig.slice();
  for (let i = 32; i < 64; i++) {
    mal[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  t.ok(verifyNoble(sig, msg, publicKey) && verifyNative(sig, msg, publicKey), 'original valid');
  t.notOk(verifyNoble(mal, msg, publicKey), 'noble rejects S+L');
  t.notOk(verifyNative(mal, msg, publicKey), 'native rejects S+L');
});

t.test('assertAcceptablePublicKey refuses small-order and non-canonical keys', async (t) => {
  t.doesNotThrow(() => assertAcceptablePublicKey(generateKeyPair().publicKey));
  const identity = ed.Point.ZERO.toBytes();
  t.throws(() => assertAcceptablePublicKey(identity), { code: 'BAD_KEY' }, 'identity point has small order');
  const nonCanonical = new Uint8Array(32).fill(0xff);
  nonCanonical[31] = 0x7f; // y = 2^255 - 1 >= p
  t.throws(() => assertAcceptablePublicKey(nonCanonical), { code: 'BAD_KEY' });
  t.throws(() => assertAcceptablePublicKey(new Uint8Array(31)), { code: 'BAD_KEY' });
});

t.test('keyId is the first 8 bytes of SHA-256 of the key', async (t) => {
  const pk = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
  t.equal(keyId(pk).length, 8);
  // sha256sum of the RFC 8032 TEST 1 public key, computed independently: 21fe31dfa154a261...
  t.equal(toHex(keyId(pk)), '21fe31dfa154a261');
  t.not(toHex(keyId(pk)), toHex(keyId(generateKeyPair().publicKey)));
});
