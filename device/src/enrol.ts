// Registration, authentication and session-key binding with the ledger (seed 001 steps 1-3,
// docs/protocol.md §5-7), over interface 1 only.
import {
  ChallengeResponse, LedgerTopics, RegisterResponse, encodeAuthResponse, encodeKeyAnnouncement, encodeKeyBinding,
  encodeRegistrationRequest, encodeSigned, fromHex, generateKeyPair, keyId, signRecord, utf8, verifyRecord,
  decodeIdentityCertificate, bytesEqual, type KeyPair, type ResponseBody,
} from '@meterseal/protocol';
import type { Logger } from 'pino';
import { AgentError } from './errors.js';
import { signAs, type KeyStore } from './key-store.js';
import type { RpcClient } from './rpc.js';
import type { TlsIdentity } from './tls-identity.js';

export interface Session {
  key: KeyPair;
  keyId: Uint8Array;
  firstSeq: bigint;
  /** The KeyAnnouncement for interface 2: certificate and binding, each with its signature. */
  announcement: Uint8Array;
  ledgerPublicKey: Uint8Array;
  /** Every session key id the ledger has bound for this meter (from the bind answer), when it says. */
  ledgerKeyIds?: string[];
}

export interface EnrolInput {
  meterId: string;
  customerAccount: string;
  /** The identity key: a KeyStore (key-store.ts; a secure element later) or a software key pair. */
  identity: KeyStore | KeyPair;
  firmwareHash: Uint8Array;
  firstSeq: bigint;
  /** A pinned ledger key (hex); when absent the first certificate's key is trusted and pinned by the caller. */
  ledgerPublicKey?: Uint8Array;
  /** mqtts with per-meter certificates (tls-identity.ts): the registration carries a CSR when one is needed. */
  tls?: TlsIdentity;
  log: Logger;
}

function expectOk(body: ResponseBody, step: string): Record<string, unknown> {
  if (!body.ok) throw new AgentError(body.error.code, `${step} refused by the ledger: ${body.error.message}`);
  return body;
}

export async function enrol(rpc: RpcClient, input: EnrolInput): Promise<Session> {
  const { meterId, identity, log } = input;
  const now = (): bigint => BigInt(Date.now());

  // 1. registration: meter id + customer account, self-signed with the identity key made on the device
  // issue 5 item 9: the CSR of the meter's TLS key rides in the registration, under the identity signature
  const tls = input.tls;
  const tlsCsr = tls?.needsCertificate() ? tls.csr() : undefined;
  const req = encodeRegistrationRequest({
    meterId, customerAccount: input.customerAccount, identityPublicKey: identity.publicKey,
    firmwareHash: input.firmwareHash, timeMs: now(), ...(tlsCsr ? { tlsCsr } : {}),
  });
  const reg = RegisterResponse.parse(expectOk(await rpc.request('register', 'register', LedgerTopics.register,
    encodeSigned(req, signAs(identity, req))), 'registration'));
  const ledgerPublicKey = fromHex(reg.ledgerPublicKey, 32);
  if (input.ledgerPublicKey && !bytesEqual(input.ledgerPublicKey, ledgerPublicKey)) {
    throw new AgentError('LEDGER_KEY_MISMATCH', 'the ledger answered with a key other than the pinned one');
  }
  const certificate = fromHex(reg.certificate);
  const certificateSignature = fromHex(reg.certificateSignature, 64);
  if (!verifyRecord(certificate, certificateSignature, ledgerPublicKey)) {
    throw new AgentError('BAD_CERTIFICATE', 'the identity certificate does not verify with the ledger key');
  }
  const cert = decodeIdentityCertificate(certificate);
  if (cert.meterId !== meterId || !bytesEqual(cert.identityPublicKey, identity.publicKey)) {
    throw new AgentError('BAD_CERTIFICATE', 'the identity certificate names another meter or key');
  }
  log.info({ registrationIndex: cert.registrationIndex.toString() }, 'registered with the ledger');
  if (tls && tlsCsr) {
    if (reg.tlsCertificate === undefined) {
      if (tls.bootstrap) throw new AgentError('NO_TLS_CERTIFICATE', 'the ledger issued no TLS client certificate (is its meterCa enabled?)');
      log.warn('the ledger did not renew the TLS client certificate; the current one stays in use');
    } else {
      const wasBootstrap = rpc.bootstrap;
      tls.install(reg.tlsCertificate, reg.tlsCaCertificate);
      if (wasBootstrap) {
        await rpc.reconnect(10_000); // from here on the meter's own identity and topics
        log.info('connected with the meter\'s own TLS client certificate');
      } // a renewal: the new certificate is used from the next connection on
    }
  }

  // 2. authentication: answer a fresh nonce with the identity key
  const ch = ChallengeResponse.parse(expectOk(await rpc.request('challenge', 'challenge', LedgerTopics.challenge,
    utf8.encode(JSON.stringify({ meterId }))), 'challenge'));
  const auth = encodeAuthResponse({ meterId, nonce: fromHex(ch.nonce, 32), timeMs: now() });
  expectOk(await rpc.request('auth', 'auth', LedgerTopics.auth, encodeSigned(auth, signAs(identity, auth))), 'authentication');
  log.info('authenticated');

  // 3. a fresh session key, bound to the identity from firstSeq on
  const key = generateKeyPair();
  const binding = encodeKeyBinding({
    meterId, identityKeyId: keyId(identity.publicKey), sessionPublicKey: key.publicKey, firstSeq: input.firstSeq, createdAtMs: now(),
  });
  const bindingSignature = signAs(identity, binding);
  const bound = expectOk(await rpc.request('bind', 'bind', LedgerTopics.bind, encodeSigned(binding, bindingSignature)), 'key binding');
  // the meter's session key ids on the ledger (issue 5 item 6), for the agent's own-history check
  const ledgerKeyIds = Array.isArray(bound.keyIds) ? bound.keyIds.filter((k): k is string => typeof k === 'string' && /^[0-9a-f]{16}$/.test(k)) : undefined;
  log.info({ firstSeq: input.firstSeq.toString() }, 'session key bound');

  const announcement = encodeKeyAnnouncement({ certificate, certificateSignature, binding, bindingSignature });
  return { key, keyId: keyId(key.publicKey), firstSeq: input.firstSeq, announcement, ledgerPublicKey, ...(ledgerKeyIds ? { ledgerKeyIds } : {}) };
}
