import t from 'tap';
import fc from 'fast-check';
import { generateKeyPair } from './ed25519.js';
import { splitSigned } from './signed.js';
import {
  decodeTechnicianCredential, encodeTechnicianCredential, issueTechnicianCredential, parseScopeEntry, scopeCovers,
  signConsoleCommand, verifyConsoleCommand, verifyTechnicianCredential, type TechnicianCredential,
} from './technician.js';

const utility = generateKeyPair();
const tech = generateKeyPair();
const T0 = 1_800_000_000_000;
const base = {
  technicianId: 'tech-7', technicianPublicKey: tech.publicKey, scope: [parseScopeEntry('M-1'), parseScopeEntry('site:S-9')],
  notBeforeMs: BigInt(T0), notAfterMs: BigInt(T0 + 3_600_000),
};
const signed = issueTechnicianCredential(base, utility);
const opts = (now: number, target?: { meterId?: string; siteId?: string }) => ({ trustedIssuers: [utility.publicKey], nowMs: () => now, target });

t.test('credential round-trips canonically and starts with type 0x20 version 1', async (t) => {
  const { record } = splitSigned(signed);
  t.equal(record[0], 0x20);
  t.equal(record[1], 0x01);
  const c = decodeTechnicianCredential(record);
  t.same(encodeTechnicianCredential(c), record);
  t.equal(c.technicianId, 'tech-7');
  t.same(c.scope, [{ kind: 'meter', id: 'M-1' }, { kind: 'site', id: 'S-9' }]);
  t.throws(() => decodeTechnicianCredential(new Uint8Array([...record, 0])), { code: 'TRAILING_BYTES' });
  t.throws(() => decodeTechnicianCredential(record.slice(0, -1)), { code: 'TRUNCATED' });
  t.throws(() => decodeTechnicianCredential(new Uint8Array([0x21, 1, ...record.slice(2)])), { code: 'WRONG_TYPE' });
});

t.test('verify: signature, issuer, window, scope', async (t) => {
  t.equal(verifyTechnicianCredential(signed, opts(T0, { meterId: 'M-1' })).technicianId, 'tech-7');
  t.ok(verifyTechnicianCredential(signed, opts(T0 + 3_600_000, { meterId: 'X', siteId: 'S-9' })), 'site scope, last ms inclusive');
  t.throws(() => verifyTechnicianCredential(signed, opts(T0 - 1)), { code: 'NOT_YET_VALID' });
  t.throws(() => verifyTechnicianCredential(signed, opts(T0 + 3_600_001)), { code: 'EXPIRED' });
  t.throws(() => verifyTechnicianCredential(signed, opts(T0, { meterId: 'M-2' })), { code: 'OUT_OF_SCOPE' });
  t.throws(() => verifyTechnicianCredential(signed, { ...opts(T0), trustedIssuers: [generateKeyPair().publicKey] }), { code: 'UNKNOWN_ISSUER' });
  const forged = signed.slice();
  forged[10] = forged[10]! ^ 1; // inside the technician key
  t.throws(() => verifyTechnicianCredential(forged, opts(T0)), { code: 'BAD_SIGNATURE' });
  const selfIssued = issueTechnicianCredential({ ...base, scope: [{ kind: 'any' }] }, tech);
  t.throws(() => verifyTechnicianCredential(selfIssued, opts(T0)), { code: 'UNKNOWN_ISSUER' });
});

t.test('scope rules', async (t) => {
  t.ok(scopeCovers([{ kind: 'any' }], {}));
  t.notOk(scopeCovers([{ kind: 'meter', id: 'M-1' }], {}));
  const bad = (scope: TechnicianCredential['scope']) => () => encodeTechnicianCredential({ ...base, scope, issuerKeyId: new Uint8Array(8) });
  t.throws(bad([]), { code: 'BAD_SCOPE' });
  t.throws(bad([{ kind: 'any' }, { kind: 'meter', id: 'M-1' }]), { code: 'BAD_SCOPE' });
  t.throws(bad([{ kind: 'meter', id: 'M-1' }, { kind: 'meter', id: 'M-1' }]), { code: 'BAD_SCOPE' });
  t.throws(bad([{ kind: 'meter', id: 'a/b' }]), { code: 'BAD_METER_ID' });
});

t.test('console authorisation binds nonce and command line', async (t) => {
  const nonce = new Uint8Array(32).fill(3);
  const sig = signConsoleCommand(nonce, 'set-meter-id M-1', tech.secretKey);
  t.ok(verifyConsoleCommand(nonce, 'set-meter-id M-1', sig, tech.publicKey));
  t.notOk(verifyConsoleCommand(nonce, 'set-meter-id M-2', sig, tech.publicKey));
  t.notOk(verifyConsoleCommand(new Uint8Array(32).fill(4), 'set-meter-id M-1', sig, tech.publicKey));
  t.notOk(verifyConsoleCommand(nonce, 'set-meter-id M-1', sig, utility.publicKey));
  t.notOk(verifyConsoleCommand(nonce, 'x'.repeat(5000), sig, tech.publicKey));
});

t.test('decoder never throws anything but ProtocolError on random bytes', async () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
    try {
      decodeTechnicianCredential(new Uint8Array([0x20, 1, ...b]));
    } catch (e) {
      if ((e as Error).name !== 'ProtocolError') throw e;
    }
  }));
});
