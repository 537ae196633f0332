// The meter CA (issue 5 item 9): files and modes, reuse across restarts, refusal of a readable key, what an
// issued certificate says, and hostile CSRs (typed Rejections, never anything else).
import t from 'tap';
import { X509Certificate, createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import fc from 'fast-check';
import { fuzzParams } from '@meterseal/protocol';
import { MeterCa } from './meter-ca.js';
import { LedgerError, Rejection } from './errors.js';

const NOW = Date.parse('2026-11-21T12:00:00Z');

function tmp(t: { teardown(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'meterseal-ca-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A PKCS#10 request (RFC 2986) for a fresh key of the given type, optionally with a tampered signature. */
function csr(o: { curve?: 'P-256' | 'P-384' | 'ed25519'; tamper?: boolean } = {}): Uint8Array {
  const { privateKey, publicKey } = o.curve === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: o.curve ?? 'P-256' });
  const req = new pkijs.CertificationRequest();
  req.subject.typesAndValues.push(new pkijs.AttributeTypeAndValue({ type: '2.5.4.3', value: new asn1js.Utf8String({ value: 'anything' }) }));
  req.subjectPublicKeyInfo = pkijs.PublicKeyInfo.fromBER(new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })));
  req.attributes = [];
  req.signatureAlgorithm = new pkijs.AlgorithmIdentifier({ algorithmId: o.curve === 'ed25519' ? '1.3.101.112' : '1.2.840.10045.4.3.2' });
  req.tbsView = new Uint8Array((req as unknown as { encodeTBS(): asn1js.Sequence }).encodeTBS().toBER(false));
  const sig = new Uint8Array(sign(o.curve === 'ed25519' ? null : 'sha256', req.tbsView, privateKey));
  if (o.tamper) sig[sig.length - 3]! ^= 1;
  req.signatureValue = new asn1js.BitString({ valueHex: sig });
  return new Uint8Array(req.toSchema(false).toBER(false));
}

t.test('first start makes the CA and service certificates; a restart reuses them', async (t) => {
  const dir = tmp(t);
  const ca = MeterCa.open({ dataDir: dir, hosts: ['127.0.0.1', 'localhost'], meterCertDays: 365, now: () => NOW });
  for (const f of ['meter-ca.key', 'mqtt-server.key', 'ledger-client.key', 'meter-bootstrap.key']) t.equal(statSync(join(dir, f)).mode & 0o777, 0o600, `${f} is 0600`);
  const caX = new X509Certificate(readFileSync(ca.files.caCert));
  t.ok(caX.ca, 'basicConstraints cA');
  t.match(caX.subject, /CN=MeterSeal meter CA/);
  const server = new X509Certificate(readFileSync(ca.files.serverCert));
  t.ok(server.verify(caX.publicKey) && server.checkIssued(caX), 'server certificate issued by the CA');
  t.equal(server.checkIP('127.0.0.1'), '127.0.0.1', 'subjectAltName IP 127.0.0.1');
  t.equal(server.checkHost('localhost'), 'localhost', 'subjectAltName DNS localhost');
  t.match(new X509Certificate(readFileSync(ca.files.bootstrapCert)).subject, /^CN=meterseal-bootstrap$/m);
  t.match(new X509Certificate(readFileSync(ca.files.ledgerCert)).subject, /^CN=meterseal-ledger$/m);
  const again = MeterCa.open({ dataDir: dir, hosts: ['127.0.0.1'], meterCertDays: 365, now: () => NOW });
  t.equal(again.caCertPem, ca.caCertPem, 'the same CA after a restart');
  t.equal(readFileSync(ca.files.serverCert, 'utf8'), server.toString(), 'service certificates are kept while valid');
  MeterCa.open({ dataDir: dir, hosts: ['127.0.0.1', 'broker.example'], meterCertDays: 365, now: () => NOW });
  const renamed = new X509Certificate(readFileSync(ca.files.serverCert));
  t.equal(renamed.checkHost('broker.example'), 'broker.example', 'a newly configured host: the server certificate is reissued');
  t.ok(renamed.verify(caX.publicKey), 'by the same CA');
  t.equal(statSync(ca.files.serverKey).mode & 0o777, 0o600, 'its new key is 0600 too');
});

t.test('a CA key readable by group or others refuses to start', async (t) => {
  const dir = tmp(t);
  MeterCa.open({ dataDir: dir, hosts: ['127.0.0.1'], meterCertDays: 365 });
  chmodSync(join(dir, 'meter-ca.key'), 0o640);
  const err = (() => {
    try {
      MeterCa.open({ dataDir: dir, hosts: ['127.0.0.1'], meterCertDays: 365 });
      return undefined;
    } catch (e) {
      return e;
    }
  })();
  t.ok(err instanceof LedgerError, 'a LedgerError');
  t.match(err, { code: 'KEY_FILE_INVALID', message: /readable by group or others/ });
});

t.test('an issued meter certificate: CN = meter id, client auth, backdated, for the CSR key', async (t) => {
  const ca = MeterCa.open({ dataDir: tmp(t), hosts: ['127.0.0.1'], meterCertDays: 365, now: () => NOW });
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const req = new pkijs.CertificationRequest();
  req.subjectPublicKeyInfo = pkijs.PublicKeyInfo.fromBER(new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })));
  req.subject.typesAndValues.push(new pkijs.AttributeTypeAndValue({ type: '2.5.4.3', value: new asn1js.Utf8String({ value: 'OTHER-METER' }) }));
  req.attributes = [];
  req.signatureAlgorithm = new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.840.10045.4.3.2' });
  req.tbsView = new Uint8Array((req as unknown as { encodeTBS(): asn1js.Sequence }).encodeTBS().toBER(false));
  req.signatureValue = new asn1js.BitString({ valueHex: sign('sha256', req.tbsView, privateKey) });
  const issued = ca.issueMeterCertificate('M-7', new Uint8Array(req.toSchema(false).toBER(false)));
  const x = new X509Certificate(issued.certificate);
  t.match(x.subject, /^CN=M-7$/m, 'CN from the signed registration, not from the CSR subject');
  t.ok(x.checkPrivateKey(createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }))), 'for the key in the CSR');
  t.ok(x.verify(new X509Certificate(issued.caCertificate).publicKey), 'signed by the CA it returns');
  t.notOk(x.ca, 'not a CA');
  t.ok(Date.parse(x.validFrom) < NOW - 60_000 && Date.parse(x.validFrom) >= NOW - 6 * 60_000, 'notBefore backdated by minutes');
  t.equal(Date.parse(x.validTo) - Date.parse(x.validFrom), 365 * 86_400_000, 'one year');
  t.match(x.keyUsage ?? [], ['1.3.6.1.5.5.7.3.2'], 'extended key usage: TLS client');
});

t.test('hostile CSRs are refused with typed rejections', async (t) => {
  const ca = MeterCa.open({ dataDir: tmp(t), hosts: ['127.0.0.1'], meterCertDays: 365 });
  const code = (id: string, der: Uint8Array): string => {
    try {
      ca.issueMeterCertificate(id, der);
      return 'issued';
    } catch (e) {
      return e instanceof Rejection ? e.code : `untyped: ${String(e)}`;
    }
  };
  t.equal(code('M-1', csr()), 'issued');
  t.equal(code('M-1', csr({ tamper: true })), 'BAD_SIGNATURE', 'signature not by the key it carries');
  t.equal(code('M-1', csr({ curve: 'P-384' })), 'BAD_KEY', 'only P-256');
  t.equal(code('M-1', csr({ curve: 'ed25519' })), 'BAD_KEY', 'no Ed25519 TLS keys');
  t.equal(code('M-1', new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])), 'MALFORMED', 'not a CertificationRequest');
  t.equal(code('meterseal-ledger', csr()), 'MALFORMED', 'a meter id may not take a service\'s name');
  t.equal(code('meterseal-bootstrap', csr()), 'MALFORMED');
  const good = csr();
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 }), (junk, at, x) => {
    const flipped = good.slice();
    flipped[at]! ^= x;
    for (const der of [junk, flipped, good.subarray(0, at)]) {
      const c = code('M-1', der);
      if (c.startsWith('untyped')) throw new Error(c);
    }
  }), fuzzParams(200));
});
