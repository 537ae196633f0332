// Which TLS identity the agent presents on the ledger interface (issue 5 item 9), and the files behind it:
//   config ledger.tls.ca             the meter CA (PEM) the broker's certificate must be issued by (pinned)
//   config ledger.tls.bootstrapCert  the shared bootstrap certificate and key (CN meterseal-bootstrap): the
//          ledger.tls.bootstrapKey   broker lets it publish registrations and read bootstrap answers only
//   <dataDir>/tls-client.key         the meter's own P-256 key, made here, mode 0600, never sent anywhere
//   <dataDir>/tls-client.crt         its certificate (CN = meter id) from the registration answer
// Until tls-client.crt holds a certificate for this key and meter, the agent is on the bootstrap identity.
import { X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { AgentError } from './errors.js';
import type { TlsDialer } from './rpc.js';
import { TIME_FLOOR_MS, dialTls, loadOrCreateTlsKey, makeCsr } from './tls.js';

export interface LedgerTlsConfig {
  ca: string;
  bootstrapCert: string;
  bootstrapKey: string;
  /** ISO-8601 UTC: a clock reading earlier than this is "not set yet" (default TIME_FLOOR_MS). */
  timeFloor?: string | undefined;
}

export interface CollectorTlsConfig {
  /** The CA (PEM file) that must have issued the collector broker's certificate. */
  ca: string;
  timeFloor?: string | undefined;
}

/** Renew (send a CSR with the next registration, e.g. on session-key rotation) this long before expiry. */
const RENEW_BEFORE_MS = 30 * 86_400_000;

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new AgentError('TLS_CONFIG', `cannot read the ${what} ${path}: ${(cause as Error).message}`, { cause });
  }
}

export class TlsIdentity {
  readonly ca: X509Certificate;
  private readonly key: KeyObject;
  private readonly keyPem: string;
  private readonly certPath: string;
  private readonly bootstrapCert: string;
  private readonly bootstrapKey: string;
  private readonly timeFloorMs: number;
  private cert: X509Certificate | undefined;

  constructor(dataDir: string, private readonly meterId: string, cfg: LedgerTlsConfig, private readonly log: Logger, private readonly now: () => number = Date.now) {
    try {
      this.ca = new X509Certificate(readText(cfg.ca, 'CA certificate'));
    } catch (cause) {
      if (cause instanceof AgentError) throw cause;
      throw new AgentError('TLS_CONFIG', `${cfg.ca} is not a PEM certificate`, { cause });
    }
    this.bootstrapCert = readText(cfg.bootstrapCert, 'bootstrap certificate');
    this.bootstrapKey = readText(cfg.bootstrapKey, 'bootstrap key');
    this.timeFloorMs = cfg.timeFloor !== undefined ? Date.parse(cfg.timeFloor) : TIME_FLOOR_MS;
    const { key, created } = loadOrCreateTlsKey(join(dataDir, 'tls-client.key'));
    if (created) log.info('TLS client key created');
    this.key = key;
    this.keyPem = key.export({ type: 'pkcs8', format: 'pem' }) as string;
    this.certPath = join(dataDir, 'tls-client.crt');
    try {
      this.cert = this.accept(readFileSync(this.certPath, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ err: (err as Error).message }, 'stored TLS certificate unusable; back to the bootstrap identity');
    }
  }

  /** True while the agent has no certificate of its own (registration topics only). */
  get bootstrap(): boolean {
    return this.cert === undefined;
  }

  /** The clock is set and the certificate expires within RENEW_BEFORE_MS (or there is none). */
  needsCertificate(): boolean {
    if (!this.cert) return true;
    const now = this.now();
    return now >= this.timeFloorMs && Date.parse(this.cert.validTo) - now < RENEW_BEFORE_MS;
  }

  /** A PKCS#10 request for the meter's TLS key (RFC 2986). */
  csr(): Uint8Array {
    return makeCsr(this.key, this.meterId);
  }

  /** Checks a certificate for this meter: CN = meter id, this key, issued by the pinned CA. Throws AgentError. */
  private accept(pem: string): X509Certificate {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch (cause) {
      throw new AgentError('BAD_TLS_CERTIFICATE', 'the TLS certificate is not PEM X.509', { cause });
    }
    if (!cert.checkPrivateKey(this.key)) throw new AgentError('BAD_TLS_CERTIFICATE', 'the TLS certificate is not for this meter\'s TLS key');
    if (!cert.checkIssued(this.ca) || !cert.verify(this.ca.publicKey)) throw new AgentError('BAD_TLS_CERTIFICATE', 'the TLS certificate is not issued by the pinned CA');
    const cn = /^CN=(.*)$/m.exec(cert.subject)?.[1];
    if (cn !== this.meterId) throw new AgentError('BAD_TLS_CERTIFICATE', `the TLS certificate names ${cn ?? '(no CN)'}, not ${this.meterId}`);
    return cert;
  }

  /** Stores the certificate from a registration answer; the CA in the answer must be the pinned one. */
  install(certPem: string, caPem: string | undefined): void {
    if (caPem !== undefined) {
      let same = false;
      try {
        same = new X509Certificate(caPem).fingerprint256 === this.ca.fingerprint256;
      } catch {
        // not a certificate: refused below
      }
      if (!same) throw new AgentError('BAD_TLS_CERTIFICATE', 'the ledger answered with a CA other than the pinned one');
    }
    const cert = this.accept(certPem);
    const tmp = `${this.certPath}.tmp-${process.pid}`;
    writeFileSync(tmp, certPem, { mode: 0o644 });
    renameSync(tmp, this.certPath);
    this.cert = cert;
    this.log.info({ notAfter: cert.validTo }, 'TLS client certificate installed');
  }

  /** Opens the TLS connection with the current identity (bootstrap or the meter's certificate). */
  dial(host: string, port: number): TLSSocket {
    const own = this.cert !== undefined;
    return dialTls({
      host, port, ca: this.ca, cert: own ? this.cert!.toString() : this.bootstrapCert, key: own ? this.keyPem : this.bootstrapKey,
      now: this.now, timeFloorMs: this.timeFloorMs, log: this.log,
    });
  }

  /**
   * Opens TLS to another broker of this meter's (the collector, interface 2) with the meter's own certificate
   * only — never the bootstrap identity — checking the broker against `serverCa` by the same no-RTC rule.
   * Without an own certificate yet: a stream that fails at once (the MQTT client retries; readings stay queued).
   */
  dialOwn(host: string, port: number, serverCa: X509Certificate, timeFloorMs = this.timeFloorMs): Duplex {
    if (this.cert === undefined) {
      const pending = new Duplex({ read() {}, write(_c, _e, done) { done(); } });
      process.nextTick(() => pending.destroy(new AgentError('NO_TLS_CERTIFICATE', 'no TLS client certificate yet (issued at registration with the ledger)')));
      return pending;
    }
    return dialTls({ host, port, ca: serverCa, cert: this.cert.toString(), key: this.keyPem, now: this.now, timeFloorMs, log: this.log });
  }
}

/** The collector uplink's mqtts dialer (issue 5 item 9): the meter's own certificate, the collector's pinned CA. */
export function collectorDialer(identity: TlsIdentity, cfg: CollectorTlsConfig): TlsDialer {
  let ca: X509Certificate;
  try {
    ca = new X509Certificate(readText(cfg.ca, 'collector CA certificate'));
  } catch (cause) {
    if (cause instanceof AgentError) throw cause;
    throw new AgentError('TLS_CONFIG', `${cfg.ca} is not a PEM certificate`, { cause });
  }
  const floor = cfg.timeFloor !== undefined ? Date.parse(cfg.timeFloor) : undefined;
  return { bootstrap: false, dial: (host, port) => identity.dialOwn(host, port, ca, floor) };
}
