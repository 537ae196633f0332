// RegistrationRequest with the optional tlsCsr (issue 5 item 9): absent, the bytes are the original v1
// encoding; present, it is a bytes16 after timeMs, covered by the identity self-signature; anything else
// after timeMs is a typed error.
import t from 'tap';
import { decodeRegistrationRequest, encodeRegistrationRequest, type RegistrationRequest } from './identity.js';
import { generateKeyPair, signRecord, verifyRecord } from './index.js';
import { ProtocolError } from './errors.js';

const key = generateKeyPair();
const base: RegistrationRequest = {
  meterId: 'M-1', customerAccount: 'ACC-1', identityPublicKey: key.publicKey, firmwareHash: new Uint8Array(32).fill(7), timeMs: 1_700_000_000_000n,
};
const code = (f: () => unknown): string => {
  try {
    f();
    return 'ok';
  } catch (e) {
    return e instanceof ProtocolError ? e.code : `untyped ${String(e)}`;
  }
};

t.test('without tlsCsr: the original encoding, decoded without the field', async (t) => {
  const bytes = encodeRegistrationRequest(base);
  t.equal(bytes.length, 2 + 1 + 3 + 1 + 5 + 32 + 32 + 8, 'header, str8 id, str8 account, key, hash, i64: nothing more');
  const back = decodeRegistrationRequest(bytes);
  t.same(back, base);
  t.notOk('tlsCsr' in back);
});

t.test('with tlsCsr: round trip, signed with the rest, typed errors for anything odd', async (t) => {
  const csr = new Uint8Array(300).map((_, i) => i & 0xff);
  const bytes = encodeRegistrationRequest({ ...base, tlsCsr: csr });
  t.same(decodeRegistrationRequest(bytes).tlsCsr, csr);
  const sig = signRecord(bytes, key.secretKey);
  const altered = bytes.slice();
  altered[altered.length - 1]! ^= 1;
  t.notOk(verifyRecord(altered, sig, key.publicKey), 'the identity signature covers the CSR');
  t.equal(code(() => encodeRegistrationRequest({ ...base, tlsCsr: new Uint8Array(0) })), 'BAD_VALUE');
  const plain = encodeRegistrationRequest(base);
  t.equal(code(() => decodeRegistrationRequest(new Uint8Array([...plain, 0, 0]))), 'BAD_VALUE', 'an empty CSR is not canonical');
  t.equal(code(() => decodeRegistrationRequest(new Uint8Array([...plain, 0]))), 'TRUNCATED');
  t.equal(code(() => decodeRegistrationRequest(new Uint8Array([...plain, 0, 5, 1, 2]))), 'TRUNCATED');
  t.equal(code(() => decodeRegistrationRequest(new Uint8Array([...bytes, 9]))), 'TRAILING_BYTES');
});
