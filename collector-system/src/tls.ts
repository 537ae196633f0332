// MQTT over TLS on interface 2 (issue 5 item 9): the embedded broker's TLS material, the identity a meter's
// client certificate carries, and the in-process stream the collector's own client attaches by.
//   mqtt.tls.cert / mqtt.tls.key  the broker's server certificate chain and key (PEM files; any CA the agents
//                                 pin as collector.tls.ca)
//   mqtt.tls.clientCa             the ledger's meter CA certificate (PEM: <ledger dataDir>/meter-ca.crt, copied
//                                 like ledger.pub): every client must present a certificate it issued
// The meter's identity is the certificate's subject CN (= meter id, issued at registration by the ledger's
// meter CA). CNs that are not meter ids (the shared bootstrap identity "meterseal-bootstrap", the ledger's
// "meterseal-ledger", anything reserved "meterseal-*") get no access to interface 2.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { METER_ID_PATTERN } from '@meterseal/protocol';
import { CollectorError } from './errors.js';

export interface BrokerTlsFiles {
  cert: string;
  key: string;
  clientCa: string;
}

export interface BrokerTlsMaterial {
  cert: string;
  key: string;
  ca: string;
}

function read(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new CollectorError('CONFIG_INVALID', `mqtt.tls: cannot read the ${what} ${path}: ${(cause as Error).message}`, { cause });
  }
}

/** Reads and checks the broker's TLS files; throws CollectorError CONFIG_INVALID naming the bad one. */
export function loadBrokerTls(files: BrokerTlsFiles): BrokerTlsMaterial {
  const mode = (() => {
    try {
      return statSync(files.key).mode & 0o777;
    } catch (cause) {
      throw new CollectorError('CONFIG_INVALID', `mqtt.tls: cannot read the server key ${files.key}`, { cause });
    }
  })();
  if ((mode & 0o077) !== 0) {
    throw new CollectorError('CONFIG_INVALID', `mqtt.tls: ${files.key} is readable by group or others (mode ${mode.toString(8)}); chmod 600 it`);
  }
  const cert = read(files.cert, 'server certificate');
  const key = read(files.key, 'server key');
  const ca = read(files.clientCa, 'meter CA certificate');
  let caX: X509Certificate;
  let certX: X509Certificate;
  try {
    caX = new X509Certificate(ca);
  } catch (cause) {
    throw new CollectorError('CONFIG_INVALID', `mqtt.tls: ${files.clientCa} is not a PEM certificate`, { cause });
  }
  try {
    certX = new X509Certificate(cert);
  } catch (cause) {
    throw new CollectorError('CONFIG_INVALID', `mqtt.tls: ${files.cert} is not a PEM certificate`, { cause });
  }
  if (!caX.ca) throw new CollectorError('CONFIG_INVALID', `mqtt.tls: ${files.clientCa} is not a CA certificate (RFC 5280 §4.2.1.9 cA false)`);
  try {
    if (!certX.checkPrivateKey(createPrivateKey(key))) throw new Error('the key does not match the certificate');
  } catch (cause) {
    throw new CollectorError('CONFIG_INVALID', `mqtt.tls: ${files.key} is not the key of ${files.cert}`, { cause });
  }
  return { cert, key, ca };
}

/** True for a certificate CN that may act as a meter on interface 2 (a meter id, not a reserved service name). */
export function isMeterCn(cn: string | undefined): boolean {
  return cn !== undefined && METER_ID_PATTERN.test(cn) && !cn.toLowerCase().startsWith('meterseal-');
}

/** The subject CN of a TLS peer's verified certificate, or undefined. */
export function peerCommonName(socket: TLSSocket): string | undefined {
  const cn = socket.getPeerCertificate()?.subject?.CN;
  return typeof cn === 'string' ? cn : undefined;
}

/**
 * Two connected in-memory duplex streams (stream.duplexPair is Node >= 22.6 only): the collector's own client
 * on one end, the broker on the other, so it needs no client certificate and never leaves the process.
 */
export function inProcessPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const make = (peer: () => Duplex): Duplex =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, done) {
        peer().push(chunk);
        done();
      },
      final(done) {
        peer().push(null);
        done();
      },
      destroy(err, done) {
        const p = peer();
        if (!p.destroyed) p.destroy();
        done(err);
      },
    });
  ends.push(make(() => ends[1]!), make(() => ends[0]!));
  return [ends[0]!, ends[1]!];
}
