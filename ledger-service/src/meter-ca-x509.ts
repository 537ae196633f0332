// X.509 building blocks of the meter CA (meter-ca.ts), with pkijs on Node's WebCrypto: ECDSA P-256 keys,
// certificates signed with ecdsa-with-SHA256, PKCS#10 requests checked for proof of possession.
// RFC 5280 (certificate profile), RFC 2986 (PKCS#10), RFC 5480 (EC keys in SPKI), RFC 5758 §3.2 (ECDSA sigs).
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, webcrypto, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { LedgerError, Rejection, describe } from './errors.js';

// pkijs parses and encodes the ASN.1; signatures are made and checked with node:crypto so that issuing
// stays synchronous inside the register handler (handlers/context.ts: one request decided at a time).
pkijs.setEngine('meterseal-node', new pkijs.CryptoEngine({ name: 'meterseal-node', crypto: webcrypto as unknown as ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'] }));

const OID_CN = '2.5.4.3';
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1'; // RFC 5480 §2.1.1 id-ecPublicKey
const OID_P256 = '1.2.840.10045.3.1.7'; // RFC 5480 §2.1.1.1 secp256r1
const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2'; // RFC 5758 §3.2 ecdsa-with-SHA256, parameters absent
const EKU_SERVER = '1.3.6.1.5.5.7.3.1'; // RFC 5280 §4.2.1.12 id-kp-serverAuth
const EKU_CLIENT = '1.3.6.1.5.5.7.3.2'; // id-kp-clientAuth

export type CertRole = 'ca' | 'server' | 'client';

export interface CertTemplate {
  commonName: string;
  role: CertRole;
  notBefore: Date;
  notAfter: Date;
  /** server: DNS names and IP addresses for subjectAltName (RFC 5280 §4.2.1.6). */
  hosts?: string[];
}

export function generateP256(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

export function exportPkcs8Pem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

export function importPkcs8Pem(text: string, what: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem' });
  } catch (cause) {
    throw new LedgerError('KEY_FILE_INVALID', `${what} is not a PEM private key: ${describe(cause)}`, { cause });
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new LedgerError('KEY_FILE_INVALID', `${what} is not an ECDSA P-256 key`);
  }
  return key;
}
/** PEM (RFC 7468 §2): base64 in 64-character lines between BEGIN and END labels. */
export function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

function name(cn: string): pkijs.RelativeDistinguishedNames {
  return new pkijs.RelativeDistinguishedNames({
    typesAndValues: [new pkijs.AttributeTypeAndValue({ type: OID_CN, value: new asn1js.Utf8String({ value: cn }) })],
  });
}

function ext(extnID: string, critical: boolean, value: { toSchema(): asn1js.AsnType } | asn1js.AsnType): pkijs.Extension {
  const schema = 'toSchema' in value ? value.toSchema() : value;
  return new pkijs.Extension({ extnID, critical, extnValue: schema.toBER(false) });
}

function ipBytes(ip: string): Uint8Array {
  if (isIP(ip) === 4) return new Uint8Array(ip.split('.').map(Number));
  const u = new URL(`http://[${ip}]/`).hostname.slice(1, -1); // normalised IPv6
  const [head, tail = ''] = u.includes('::') ? u.split('::') : [u, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  return new Uint8Array(groups.flatMap((g) => { const n = parseInt(g, 16); return [n >> 8, n & 0xff]; }));
}

/**
 * Signs a certificate for `spki` (an ECDSA P-256 SubjectPublicKeyInfo) with the CA key. The CA is
 * self-signed when issuerName is the template's own name.
 */
export function signCertificate(t: CertTemplate, spki: pkijs.PublicKeyInfo, issuerCn: string, caKey: KeyObject): Uint8Array {
  const cert = new pkijs.Certificate();
  cert.version = 2; // v3 (RFC 5280 §4.1.2.1)
  const serial = new Uint8Array(randomBytes(16));
  serial[0]! &= 0x7f; // a positive INTEGER of at most 20 octets (RFC 5280 §4.1.2.2)
  serial[0]! |= 0x01;
  cert.serialNumber = new asn1js.Integer({ valueHex: serial });
  cert.issuer = name(issuerCn);
  cert.subject = name(t.commonName);
  cert.notBefore = new pkijs.Time({ type: pkijs.TimeType.UTCTime, value: t.notBefore });
  cert.notAfter = new pkijs.Time({ type: t.notAfter.getUTCFullYear() >= 2050 ? pkijs.TimeType.GeneralizedTime : pkijs.TimeType.UTCTime, value: t.notAfter }); // RFC 5280 §4.1.2.5
  cert.subjectPublicKeyInfo = spki;
  // KeyUsage bits (RFC 5280 §4.2.1.3): digitalSignature = bit 0 (0x80), keyCertSign = bit 5 (0x04), cRLSign = bit 6 (0x02)
  const ku = t.role === 'ca' ? 0x06 : 0x80;
  const extensions = [
    ext(pkijs.id_BasicConstraints, true, new pkijs.BasicConstraints({ cA: t.role === 'ca', ...(t.role === 'ca' ? { pathLenConstraint: 0 } : {}) })),
    ext(pkijs.id_KeyUsage, true, new asn1js.BitString({ valueHex: new Uint8Array([ku]), unusedBits: t.role === 'ca' ? 1 : 7 })),
  ];
  if (t.role !== 'ca') extensions.push(ext(pkijs.id_ExtKeyUsage, false, new pkijs.ExtKeyUsage({ keyPurposes: [t.role === 'server' ? EKU_SERVER : EKU_CLIENT] })));
  if (t.role === 'server' && t.hosts?.length) {
    const names = t.hosts.map((h) => isIP(h)
      ? new pkijs.GeneralName({ type: 7, value: new asn1js.OctetString({ valueHex: ipBytes(h) }) }) // iPAddress
      : new pkijs.GeneralName({ type: 2, value: h })); // dNSName
    extensions.push(ext(pkijs.id_SubjectAltName, false, new pkijs.GeneralNames({ names })));
  }
  const ski = createHash('sha1').update(spki.subjectPublicKey.valueBlock.valueHexView).digest(); // RFC 5280 §4.2.1.2 method (1)
  extensions.push(ext(pkijs.id_SubjectKeyIdentifier, false, new asn1js.OctetString({ valueHex: ski })));
  cert.extensions = extensions;
  cert.signature = new pkijs.AlgorithmIdentifier({ algorithmId: OID_ECDSA_SHA256 });
  cert.signatureAlgorithm = new pkijs.AlgorithmIdentifier({ algorithmId: OID_ECDSA_SHA256 });
  cert.tbsView = new Uint8Array(cert.encodeTBS().toBER(false));
  // RFC 5758 §3.2 / RFC 5480 §2.2: the signature value is the DER ECDSA-Sig-Value
  cert.signatureValue = new asn1js.BitString({ valueHex: sign('sha256', cert.tbsView, caKey) });
  return new Uint8Array(cert.toSchema(false).toBER(false));
}

export function spkiOf(publicKey: KeyObject): pkijs.PublicKeyInfo {
  return pkijs.PublicKeyInfo.fromBER(publicKey.export({ type: 'spki', format: 'der' }));
}
/** True when the SPKI is an EC key on P-256 (RFC 5480 §2.1.1). */
function isP256(spki: pkijs.PublicKeyInfo): boolean {
  const params = spki.algorithm.algorithmParams as asn1js.ObjectIdentifier | undefined;
  return spki.algorithm.algorithmId === OID_EC_PUBLIC_KEY && params instanceof asn1js.ObjectIdentifier && params.valueBlock.toString() === OID_P256;
}

/**
 * Parses a PKCS#10 request (DER, from a meter: hostile) and checks its self-signature (RFC 2986 §3: proof
 * of possession of the private key). Returns the requested public key; the subject it names is ignored —
 * the CA sets CN from the signed registration. Throws Rejection MALFORMED / BAD_KEY / BAD_SIGNATURE.
 */
export function checkCsr(der: Uint8Array): pkijs.PublicKeyInfo {
  let csr: pkijs.CertificationRequest;
  try {
    csr = pkijs.CertificationRequest.fromBER(der);
  } catch (cause) {
    throw new Rejection('MALFORMED', `tlsCsr is not a DER PKCS#10 certification request: ${describe(cause)}`, { cause });
  }
  if (!isP256(csr.subjectPublicKeyInfo)) throw new Rejection('BAD_KEY', 'tlsCsr: the TLS key must be ECDSA P-256 (RFC 5480)');
  if (csr.signatureAlgorithm.algorithmId !== OID_ECDSA_SHA256) throw new Rejection('MALFORMED', 'tlsCsr must be signed with ecdsa-with-SHA256 (RFC 5758 §3.2)');
  let ok = false;
  try {
    const key = createPublicKey({ key: Buffer.from(csr.subjectPublicKeyInfo.toSchema().toBER(false)), format: 'der', type: 'spki' });
    // RFC 2986 §4.2: the signature covers the DER CertificationRequestInfo
    ok = verify('sha256', csr.tbsView, key, csr.signatureValue.valueBlock.valueHexView);
  } catch (cause) {
    throw new Rejection('BAD_SIGNATURE', `tlsCsr: signature cannot be checked: ${describe(cause)}`, { cause });
  }
  if (!ok) throw new Rejection('BAD_SIGNATURE', 'tlsCsr is not signed by the key it carries');
  return csr.subjectPublicKeyInfo;
}
