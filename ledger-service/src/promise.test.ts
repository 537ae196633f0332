// The ledger's native promise signer gives exactly the bytes of the protocol's (noble) signer — Ed25519 is
// deterministic (RFC 8032 §5.1.6) — so anyone can check a promise with openInclusionPromise.
import t from 'tap';
import { fromHex, generateKeyPair, leafHash, openInclusionPromise, signInclusionPromise, toHex, utf8 } from '@meterseal/protocol';
import { PromiseSigner } from './promise.js';

t.test('native promise signatures equal the protocol signer and verify', async (t) => {
  const ledger = generateKeyPair();
  const signer = new PromiseSigner(ledger.secretKey, 'meterseal.test/ledger', 60_000, () => 1_800_000_000_000);
  const signed = utf8.encode('a signed anchor entry');
  for (let i = 0; i < 20; i++) {
    const p = signer.promise({ meterId: `M-${i}`, seq: BigInt(i * 1000), readingHash: new Uint8Array(32).fill(i), signed }, BigInt(i));
    t.equal(p.deadlineMs - p.issuedAtMs, 60_000n);
    t.same(p.anchorHash, leafHash(signed));
    const hex = signer.signHex(p);
    t.equal(hex, toHex(signInclusionPromise(p, ledger.secretKey)), `promise ${i}: the same bytes as the noble signer`);
    t.same(openInclusionPromise(fromHex(hex), ledger.publicKey, signed), p);
  }
});
