// The meter CA (issue 5 item 9): an ECDSA P-256 CA in the ledger's data directory that issues each meter a
// TLS client certificate (CN = meter id) at registration, from a PKCS#10 request made with a key that never
// leaves the meter. Files, made on first start (keys mode 0600; a key readable by group or others refuses
// to start, the CA key is the broker's whole access control):
//   meter-ca.key / meter-ca.crt               the CA (self-signed, 20 years)
//   mqtt-server.key / mqtt-server.crt         the broker's server certificate (embedded aedes, or copied to
//                                             mosquitto's certfile/keyfile), subjectAltName = config hosts
//   ledger-client.key / ledger-client.crt     the ledger's own client (CN meterseal-ledger) for mosquitto
//   meter-bootstrap.key / meter-bootstrap.crt the shared bootstrap identity (CN meterseal-bootstrap) given to
//                                             unregistered meters: it can reach only the registration topics
import { mkdirSync, readFileSync, statSync, writeFileSync, renameSync, openSync, closeSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { X509Certificate, type KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { LedgerError, Rejection } from './errors.js';
import { checkCsr, exportPkcs8Pem, generateP256, importPkcs8Pem, pem, signCertificate, spkiOf, type CertTemplate } from './meter-ca-x509.js';

export const BOOTSTRAP_CN = 'meterseal-bootstrap';
export const LEDGER_CN = 'meterseal-ledger';
export const CA_CN = 'MeterSeal meter CA';

const DAY = 86_400_000;
/** Certificates start a few minutes in the past: a meter or broker whose clock lags a little still accepts them. */
const BACKDATE_MS = 5 * 60_000;

export interface MeterCaOptions {
  dataDir: string;
  /** subjectAltName of the broker certificate (DNS names or IPs). */
  hosts: string[];
  /** Validity of an issued meter certificate. */
  meterCertDays: number;
  now?: () => number;
  log?: Logger;
}

export interface MeterCaFiles {
  caCert: string;
  serverCert: string;
  serverKey: string;
  ledgerCert: string;
  ledgerKey: string;
  bootstrapCert: string;
  bootstrapKey: string;
}

export interface IssuedCertificate {
  /** PEM of the meter's client certificate and of the CA that signed it. */
  certificate: string;
  caCertificate: string;
  notAfter: Date;
}

export function meterCaFiles(dataDir: string): MeterCaFiles {
  return {
    caCert: join(dataDir, 'meter-ca.crt'),
    serverCert: join(dataDir, 'mqtt-server.crt'), serverKey: join(dataDir, 'mqtt-server.key'),
    ledgerCert: join(dataDir, 'ledger-client.crt'), ledgerKey: join(dataDir, 'ledger-client.key'),
    bootstrapCert: join(dataDir, 'meter-bootstrap.crt'), bootstrapKey: join(dataDir, 'meter-bootstrap.key'),
  };
}

/** Reads a private key file, refusing one that group or others may read (like ledger.key should be). */
function readPrivate(path: string): string | undefined {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LedgerError('KEY_FILE_INVALID', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  if ((mode & 0o077) !== 0) {
    throw new LedgerError('KEY_FILE_INVALID', `${path} is readable by group or others (mode ${mode.toString(8)}); chmod 600 it`);
  }
  return readFileSync(path, 'utf8');
}

/** Creates a private key file exclusively with mode 0600. */
function writePrivate(path: string, content: string): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
}

function writePublic(path: string, content: string, mode = 0o644): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
}

export class MeterCa {
  readonly files: MeterCaFiles;
  readonly caCertPem: string;
  private readonly caKey: KeyObject;
  private readonly now: () => number;

  private constructor(private readonly o: MeterCaOptions, caKey: KeyObject, caCertPem: string) {
    this.files = meterCaFiles(o.dataDir);
    this.caKey = caKey;
    this.caCertPem = caCertPem;
    this.now = o.now ?? Date.now;
  }

  /** Loads the CA from the data directory, creating the CA and the service certificates on first start. */
  static open(o: MeterCaOptions): MeterCa {
    mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
    const keyPath = join(o.dataDir, 'meter-ca.key');
    const files = meterCaFiles(o.dataDir);
    const now = o.now ?? Date.now;
    let keyPem = readPrivate(keyPath);
    let caCertPem: string;
    if (keyPem === undefined) {
      const kp = generateP256();
      keyPem = exportPkcs8Pem(kp.privateKey);
      const t0 = now() - BACKDATE_MS;
      const der = signCertificate({ commonName: CA_CN, role: 'ca', notBefore: new Date(t0), notAfter: new Date(t0 + 20 * 365 * DAY) }, spkiOf(kp.publicKey), CA_CN, kp.privateKey);
      caCertPem = pem('CERTIFICATE', der);
      writePublic(files.caCert, caCertPem); // the certificate first: a key without it would be unusable
      writePrivate(keyPath, keyPem);
      o.log?.info({ file: keyPath }, 'created the meter CA');
    } else {
      try {
        caCertPem = readFileSync(files.caCert, 'utf8');
      } catch (cause) {
        throw new LedgerError('KEY_FILE_INVALID', `${keyPath} exists but ${files.caCert} cannot be read`, { cause });
      }
    }
    const caKey = importPkcs8Pem(keyPem, keyPath);
    const ca = new MeterCa(o, caKey, caCertPem);
    const caX = new X509Certificate(caCertPem);
    if (!caX.checkPrivateKey(caKey)) throw new LedgerError('KEY_FILE_INVALID', `${files.caCert} does not belong to ${keyPath}`);
    ca.ensureServiceCert(files.serverCert, files.serverKey, { commonName: o.hosts[0] ?? '127.0.0.1', role: 'server', hosts: o.hosts }, 2 * 365);
    ca.ensureServiceCert(files.ledgerCert, files.ledgerKey, { commonName: LEDGER_CN, role: 'client' }, 2 * 365);
    ca.ensureServiceCert(files.bootstrapCert, files.bootstrapKey, { commonName: BOOTSTRAP_CN, role: 'client' }, 5 * 365);
    return ca;
  }

  /** Makes a key and certificate for one of the ledger's own roles unless a valid pair signed by this CA exists. */
  private ensureServiceCert(certPath: string, keyPath: string, t: Omit<CertTemplate, 'notBefore' | 'notAfter'>, days: number): void {
    const keyPem = readPrivate(keyPath);
    if (keyPem !== undefined) {
      const cert = new X509Certificate(readFileSync(certPath, 'utf8'));
      const key = importPkcs8Pem(keyPem, keyPath);
      const caX = new X509Certificate(this.caCertPem);
      const namesAll = (t.hosts ?? []).every((h) => (isIP(h) ? cert.checkIP(h) : cert.checkHost(h)) !== undefined);
      if (cert.checkPrivateKey(key) && cert.verify(caX.publicKey) && Date.parse(cert.validTo) > this.now() + 30 * DAY && namesAll) return;
      this.o.log?.warn({ file: certPath }, 'service certificate not from this CA, near expiry or missing a configured host; reissuing');
      const kp = generateP256();
      writePublic(certPath, this.sign({ ...t }, spkiOf(kp.publicKey), days));
      writePublic(keyPath, exportPkcs8Pem(kp.privateKey), 0o600);
      return;
    }
    const kp = generateP256();
    writePrivate(keyPath, exportPkcs8Pem(kp.privateKey));
    writePublic(certPath, this.sign(t, spkiOf(kp.publicKey), days));
  }

  private sign(t: Omit<CertTemplate, 'notBefore' | 'notAfter'>, spki: ReturnType<typeof spkiOf>, days: number): string {
    const t0 = this.now() - BACKDATE_MS;
    return pem('CERTIFICATE', signCertificate({ ...t, notBefore: new Date(t0), notAfter: new Date(t0 + days * DAY) }, spki, CA_CN, this.caKey));
  }

  /**
   * Issues a meter's client certificate, CN = meterId, for the key in `csrDer` (checked: P-256, self-signed).
   * The caller has already checked the registration that carries the CSR. Throws Rejection on a bad CSR.
   */
  issueMeterCertificate(meterId: string, csrDer: Uint8Array): IssuedCertificate {
    // CN is the broker identity (use_identity_as_username): a meter id must never name a server or the bootstrap
    if (meterId.toLowerCase().startsWith('meterseal-')) throw new Rejection('MALFORMED', `meter id ${meterId} is reserved for MeterSeal services; no TLS certificate`);
    const spki = checkCsr(csrDer);
    const certificate = this.sign({ commonName: meterId, role: 'client' }, spki, this.o.meterCertDays);
    return { certificate, caCertificate: this.caCertPem, notAfter: new Date(new X509Certificate(certificate).validTo) };
  }
}
