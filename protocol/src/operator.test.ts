import t from 'tap';
import fc from 'fast-check';
import { generateKeyPair, keyId } from './ed25519.js';
import { splitSigned } from './signed.js';
import {
  decodeOperatorCredential, encodeOperatorCredential, issueOperatorCredential, signOperatorAction, verifyOperatorAction,
  verifyOperatorCredential, type OperatorRole,
} from './operator.js';
import { decodeRevocation, encodeRevocation } from './revocation.js';
import { decodeMeterExchangeApproval, encodeMeterExchangeApproval } from './exchange.js';

const utility = generateKeyPair();
const op = generateKeyPair();
const T0 = 1_800_000_000_000;
const cred = issueOperatorCredential({
  operatorId: 'op-1', operatorPublicKey: op.publicKey, roles: ['revoke', 'import-meters'], notBeforeMs: BigInt(T0), notAfterMs: BigInt(T0 + 3_600_000),
}, utility);
const opts = (now: number, role?: OperatorRole) => ({ trustedIssuers: [utility.publicKey], nowMs: () => now, role });
const act = (now: number, role: OperatorRole) => ({ trustedIssuers: [utility.publicKey], nowMs: () => now, role });

t.test('OperatorCredential is type 0x22 version 1, canonical, with a role bit set', async (t) => {
  const { record } = splitSigned(cred);
  t.equal(record[0], 0x22);
  t.equal(record[1], 0x01);
  const c = decodeOperatorCredential(record);
  t.same(c.roles, ['import-meters', 'revoke']);
  t.same(encodeOperatorCredential(c), record);
  const rolesAt = record.length - 8 - 8 - 8 - 1;
  t.throws(() => decodeOperatorCredential(Uint8Array.from(record, (b, i) => (i === rolesAt ? 0 : b))), { code: 'BAD_ROLES' }, 'no role');
  t.throws(() => decodeOperatorCredential(Uint8Array.from(record, (b, i) => (i === rolesAt ? 0x80 : b))), { code: 'BAD_ROLES' }, 'unknown role bit');
  t.throws(() => decodeOperatorCredential(new Uint8Array([...record, 0])), { code: 'TRAILING_BYTES' });
  t.throws(() => decodeOperatorCredential(new Uint8Array([0x20, ...record.slice(1)])), { code: 'WRONG_TYPE' });
});

t.test('verifyOperatorCredential: issuer, signature, validity window and role', async (t) => {
  t.equal(verifyOperatorCredential(cred, opts(T0 + 1, 'revoke')).operatorId, 'op-1');
  t.throws(() => verifyOperatorCredential(cred, opts(T0 + 1, 'approve-exchange')), { code: 'NOT_PERMITTED' });
  t.throws(() => verifyOperatorCredential(cred, opts(T0 - 1)), { code: 'NOT_YET_VALID' });
  t.throws(() => verifyOperatorCredential(cred, opts(T0 + 3_600_001)), { code: 'EXPIRED' });
  t.throws(() => verifyOperatorCredential(cred, { trustedIssuers: [generateKeyPair().publicKey], nowMs: () => T0 }), { code: 'UNKNOWN_ISSUER' });
  const forged = Uint8Array.from(cred);
  forged[10]! ^= 1; // inside operatorPublicKey
  t.throws(() => verifyOperatorCredential(forged, opts(T0 + 1)), { code: 'BAD_SIGNATURE' });
});

t.test('a Revocation signed by the operator verifies; signed by anyone else it does not', async (t) => {
  const r = { meterId: 'M-1', identityKeyId: keyId(generateKeyPair().publicKey), reason: 'meter stolen', timeMs: BigInt(T0 + 5), operatorCredential: cred };
  const record = encodeRevocation(r);
  t.equal(record[0], 0x09);
  t.same(decodeRevocation(record), r);
  const ok = verifyOperatorAction(signOperatorAction(record, op.secretKey), decodeRevocation, act(T0 + 10, 'revoke'));
  t.equal(ok.action.reason, 'meter stolen');
  t.equal(ok.credential.operatorId, 'op-1');
  t.throws(() => verifyOperatorAction(signOperatorAction(record, generateKeyPair().secretKey), decodeRevocation, act(T0 + 10, 'revoke')), { code: 'BAD_SIGNATURE' });
  t.throws(() => encodeRevocation({ ...r, reason: '' }), { code: 'BAD_REASON' });
  t.throws(() => encodeRevocation({ ...r, reason: 'a\nb' }), { code: 'BAD_REASON' });
});

t.test('MeterExchangeApproval needs the approve-exchange role', async (t) => {
  const a = { meterId: 'M-1', oldIdentityKeyId: keyId(generateKeyPair().publicKey), newIdentityPublicKey: generateKeyPair().publicKey, timeMs: BigInt(T0), operatorCredential: cred };
  const record = encodeMeterExchangeApproval(a);
  t.equal(record[0], 0x0a);
  t.same(decodeMeterExchangeApproval(record), a);
  t.throws(() => verifyOperatorAction(signOperatorAction(record, op.secretKey), decodeMeterExchangeApproval, act(T0 + 1, 'approve-exchange')), { code: 'NOT_PERMITTED' });
});

t.test('hostile bytes: decoders throw typed errors, never anything else', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(0x09, 0x0a, 0x22), (bytes, type) => {
    const input = new Uint8Array([type, 1, ...bytes]);
    for (const decode of [decodeRevocation, decodeMeterExchangeApproval, decodeOperatorCredential]) {
      try {
        decode(input);
      } catch (err) {
        if (typeof (err as { code?: unknown }).code !== 'string') throw err;
      }
    }
  }), { numRuns: 2000 });
  t.pass('2000 random records decoded or refused with a code');
});
