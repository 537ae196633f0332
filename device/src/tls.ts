// MQTT over TLS for the ledger interface (issue 5 item 9): the meter's own P-256 TLS key (made on the
// device, never sent anywhere), the PKCS#10 request the ledger's meter CA certifies (CN = meter id), and
// the check of the broker's certificate that survives a board without a real-time clock.
//
// No-RTC rule: until the clock is known to be set (it reads earlier than TIME_FLOOR_MS, the build floor:
// a Pi boots at 1970 or at its last fake-hwclock save), the notBefore/notAfter of the broker's certificate
// and of the CA are NOT checked — only that. The chain (issued and signed by the pinned CA) and the name
// (RFC 6125 via tls.checkServerIdentity) are always checked. Node's own verification cannot skip the time
// check alone, so the socket is opened with rejectUnauthorized: false and verifyServer() decides on
// 'secureConnect', destroying the socket before any answer from the broker is read. Only the MQTT CONNECT
// packet (client id, no password: the client is authenticated by its certificate in the handshake) may
// already have been written to an unverified peer; nothing is published before CONNACK.
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { connect as tlsConnect, checkServerIdentity, type TLSSocket } from 'node:tls';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { Logger } from 'pino';
import { AgentError } from './errors.js';

/** 2026-11-01T00:00:00Z: no correct clock reads earlier than this build's floor. */
export const TIME_FLOOR_MS = Date.UTC(2026, 10, 1);
const OID_CN = '2.5.4.3';
const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2'; // RFC 5758 §3.2

/** Loads the meter's TLS key (PKCS#8 PEM, mode 0600) or makes a P-256 one; refuses a key readable by others. */
export function loadOrCreateTlsKey(path: string): { key: KeyObject; created: boolean } {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new AgentError('TLS_KEY', `cannot create ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (fd !== undefined) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    try {
      writeSync(fd, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    } finally {
      closeSync(fd);
    }
    return { key: privateKey, created: true };
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) throw new AgentError('TLS_KEY', `${path} is readable by group or others (mode ${mode.toString(8)}); chmod 600 it`);
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new AgentError('TLS_KEY', `${path} is not a PEM private key`, { cause });
  }
  if (key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new AgentError('TLS_KEY', `${path} is not a P-256 key`);
  return { key, created: false };
}

/** A DER PKCS#10 request (RFC 2986 §4) for `key`, subject CN = meterId, signed ecdsa-with-SHA256. */
export function makeCsr(key: KeyObject, meterId: string): Uint8Array {
  const csr = new pkijs.CertificationRequest();
  csr.version = 0; // RFC 2986 §4.1
  csr.subject.typesAndValues.push(new pkijs.AttributeTypeAndValue({ type: OID_CN, value: new asn1js.Utf8String({ value: meterId }) }));
  csr.subjectPublicKeyInfo = pkijs.PublicKeyInfo.fromBER(new Uint8Array(createPublicKey(key).export({ type: 'spki', format: 'der' })));
  csr.attributes = []; // RFC 2986 §4.1: attributes [0] is present, here empty
  csr.signatureAlgorithm = new pkijs.AlgorithmIdentifier({ algorithmId: OID_ECDSA_SHA256 });
  csr.tbsView = new Uint8Array((csr as unknown as { encodeTBS(): asn1js.Sequence }).encodeTBS().toBER(false)); // protected in pkijs' typings
  csr.signatureValue = new asn1js.BitString({ valueHex: sign('sha256', csr.tbsView, key) }); // DER ECDSA-Sig-Value
  return new Uint8Array(csr.toSchema(false).toBER(false));
}

export interface ServerCheck {
  /** The pinned CA (PEM) that must have issued the broker's certificate. */
  ca: X509Certificate;
  /** The host name or IP the agent dialled (RFC 6125 reference identity). */
  host: string;
  now: () => number;
  timeFloorMs: number;
  log?: Logger;
}

/** Checks the broker's certificate as described above; undefined when it is acceptable, or the error. */
export function verifyServer(peer: X509Certificate | undefined, c: ServerCheck): AgentError | undefined {
  if (!peer) return new AgentError('TLS_UNTRUSTED', 'the broker sent no certificate');
  if (!peer.checkIssued(c.ca) || !peer.verify(c.ca.publicKey)) {
    return new AgentError('TLS_UNTRUSTED', `the broker's certificate (${peer.subject.replace(/\n/g, ', ')}) is not issued by the pinned CA`);
  }
  const nameError = checkServerIdentity(c.host, peer.toLegacyObject());
  if (nameError) return new AgentError('TLS_NAME', `the broker's certificate does not name ${c.host}: ${nameError.message}`, { cause: nameError });
  const now = c.now();
  if (now < c.timeFloorMs) {
    c.log?.warn({ clock: new Date(now).toISOString(), floor: new Date(c.timeFloorMs).toISOString() },
      'clock not set yet (before the build floor): broker certificate validity dates not checked; chain and name were');
    return undefined;
  }
  for (const [what, cert] of [['broker certificate', peer], ['CA certificate', c.ca]] as const) {
    if (now < Date.parse(cert.validFrom)) return new AgentError('TLS_NOT_YET_VALID', `the ${what} is valid only from ${cert.validFrom}`); // RFC 5280 §6.1.3 (a)(2)
    if (now > Date.parse(cert.validTo)) return new AgentError('TLS_EXPIRED', `the ${what} expired on ${cert.validTo}`);
  }
  return undefined;
}

export interface TlsDial {
  host: string;
  port: number;
  ca: X509Certificate;
  cert: string;
  key: string;
  now: () => number;
  timeFloorMs: number;
  log?: Logger;
}

/** Opens a TLS socket with a client certificate and destroys it on 'secureConnect' unless verifyServer accepts. */
export function dialTls(d: TlsDial): TLSSocket {
  const socket = tlsConnect({
    host: d.host, port: d.port, cert: d.cert, key: d.key, ca: d.ca.toString(),
    rejectUnauthorized: false, // verifyServer below, so that an unset clock fails nothing but the dates
    ...(/^[\d.]+$|:/.test(d.host) ? {} : { servername: d.host }), // SNI only for names (RFC 6066 §3)
  });
  socket.setNoDelay(true);
  socket.once('secureConnect', () => {
    const err = verifyServer(socket.getPeerX509Certificate(), d);
    if (err) socket.destroy(err);
  });
  return socket;
}
