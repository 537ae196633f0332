// meterseal/v1/ledger/register (docs/protocol.md §5): a self-signed RegistrationRequest. Checked against
// the whitelist; the first registration appends a Registration entry (the account only as a salted
// commitment) and is answered with an IdentityCertificate signed by the ledger key. Repeating it with
// the same identity key returns the same certificate; another key is refused (KEY_MISMATCH) unless an
// operator approved exactly that key (MeterExchangeApproval, exchange.ts): then a new Registration entry
// replaces the meter's row. A revoked meter is refused (REVOKED, revocation.ts).
import {
  accountCommitment, assertAcceptablePublicKey, bytesEqual, decodeRegistrationRequest, encodeIdentityCertificate,
  encodeRegistration, keyId, signRecord, toHex, verifyRecordNative,
} from '@meterseal/protocol';
import { Rejection, describe } from '../errors.js';
import { approvedExchange } from '../exchange.js';
import { refuseIfRevoked } from '../revocation.js';
import type { MeterRow } from '../store.js';
import { decodeSigned, type Handler, type LedgerDeps } from './context.js';

function certificateFields(m: Pick<MeterRow, 'certificate' | 'certificateSignature'>, deps: LedgerDeps): Record<string, unknown> {
  return {
    certificate: toHex(m.certificate),
    certificateSignature: toHex(m.certificateSignature),
    ledgerPublicKey: toHex(deps.keys.publicKey),
  };
}

function whitelistedAccount(deps: LedgerDeps, meterId: string): string | undefined {
  try {
    if (deps.whitelist.reloadIfChanged()) deps.logger.info({ file: deps.whitelist.file, meters: deps.whitelist.size }, 'whitelist reloaded');
  } catch (err) {
    deps.logger.error({ err: describe(err) }, 'whitelist file changed but is invalid; the previous list stays in force');
  }
  return deps.whitelist.accountOf(meterId);
}

/**
 * The meter's TLS client certificate (issue 5 item 9), when the request carries a CSR and the ledger runs a
 * meter CA: CN = the meter id of the self-signed request, which the caller has already accepted.
 */
function tlsFields(deps: LedgerDeps, meterId: string, csr: Uint8Array | undefined): Record<string, unknown> {
  if (csr === undefined || !deps.meterCa) return {};
  const issued = deps.meterCa.issueMeterCertificate(meterId, csr);
  deps.logger.info({ meterId, notAfter: issued.notAfter.toISOString() }, 'issued a TLS client certificate');
  return { tlsCertificate: issued.certificate, tlsCaCertificate: issued.caCertificate };
}

export const handleRegister: Handler = (ctx, payload, deps) => {
  const { record, signature, value: req } = decodeSigned(payload, decodeRegistrationRequest, 'RegistrationRequest');
  ctx.meterId = req.meterId;
  try {
    assertAcceptablePublicKey(req.identityPublicKey);
  } catch (cause) {
    throw new Rejection('BAD_KEY', `identityPublicKey: ${describe(cause)}`, { cause });
  }
  if (!verifyRecordNative(record, signature, deps.keyCache.get(req.identityPublicKey))) {
    throw new Rejection('BAD_SIGNATURE', 'the registration request is not signed by the identity key it carries');
  }
  const account = whitelistedAccount(deps, req.meterId);
  if (account === undefined || account !== req.customerAccount) {
    throw new Rejection('NOT_WHITELISTED', `meter ${req.meterId} with this customer account is not on the ledger's whitelist`);
  }

  const existing = deps.store.getMeter(req.meterId);
  const exchange = existing && !bytesEqual(existing.identityPublicKey, req.identityPublicKey)
    ? approvedExchange(deps.store, existing, req.identityPublicKey) : undefined;
  if (existing && !exchange) {
    refuseIfRevoked(deps.store, existing);
    if (!bytesEqual(existing.identityPublicKey, req.identityPublicKey)) {
      throw new Rejection(
        'KEY_MISMATCH',
        `meter ${req.meterId} is registered with identity key ${toHex(keyId(existing.identityPublicKey))}; ` +
          'replacing it needs an operator-approved meter exchange',
      );
    }
    return { ...certificateFields(existing, deps), ...tlsFields(deps, req.meterId, req.tlsCsr) }; // idempotent: the certificate first issued
  }

  const tls = tlsFields(deps, req.meterId, req.tlsCsr); // a bad CSR refuses the registration before anything is logged
  const registrationIndex = deps.log.size;
  const certificate = encodeIdentityCertificate({
    meterId: req.meterId,
    identityPublicKey: req.identityPublicKey,
    logOrigin: deps.log.origin,
    registrationIndex,
    issuedAtMs: BigInt(ctx.nowMs),
  });
  const certificateSignature = signRecord(certificate, deps.keys.secretKey);
  const entry = encodeRegistration({
    meterId: req.meterId,
    accountCommitment: accountCommitment(deps.keys.accountSalt, account), // docs/protocol.md §5: no personal data in the log
    identityPublicKey: req.identityPublicKey,
    firmwareHash: req.firmwareHash,
    timeMs: BigInt(ctx.nowMs),
  });
  const meter = { meterId: req.meterId, identityPublicKey: req.identityPublicKey, registeredAtMs: ctx.nowMs, certificate, certificateSignature };
  deps.log.append(entry, { kind: 'registration', meter, ...(exchange ? { exchange: true } : {}) }, registrationIndex);
  deps.logger.info({ meterId: req.meterId, registrationIndex: registrationIndex.toString(), ...(exchange ? { exchangeApprovedAt: exchange.leafIndex.toString() } : {}) },
    exchange ? 'meter exchanged: new identity key registered' : 'meter registered');
  return { ...certificateFields(meter, deps), ...tls };
};
