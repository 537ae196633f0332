// The MQTT contract of both interfaces (docs/protocol.md §9).
//
// Request/response works on MQTT 3.1.1 and MQTT 5 alike, because the embedded broker (aedes) speaks only
// 3.1.1 while external brokers (mosquitto) speak 5: every response is JSON carrying `op` (what it answers)
// and `ref` (which request: the seq for anchors and deliveries, the op name for the one-at-a-time identity
// exchanges), published to the meter's response topic `meterseal/v1/meter/<meterId>/response`. When a request
// arrives over MQTT 5 with a Response Topic and Correlation Data (MQTT 5.0 §4.10, MQTT-3.3.2-15/16), the
// server answers on that Response Topic and echoes the Correlation Data as well.
import { z } from 'zod';
import { assertMeterId } from './meter-id.js';

export const TOPIC_ROOT = 'meterseal/v1';

/** Interface 1: meter → ledger. */
export const LedgerTopics = {
  register: `${TOPIC_ROOT}/ledger/register`,
  challenge: `${TOPIC_ROOT}/ledger/challenge`,
  auth: `${TOPIC_ROOT}/ledger/auth`,
  bind: `${TOPIC_ROOT}/ledger/bind`,
  /** A meter asks for the receipt of one of its anchors: JSON {"meterId", "seq"} (docs/protocol.md §10.5). */
  receipt: `${TOPIC_ROOT}/ledger/receipt`,
  anchorPrefix: `${TOPIC_ROOT}/ledger/anchor/`,
  anchor: (meterId: string): string => {
    assertMeterId(meterId);
    return `${TOPIC_ROOT}/ledger/anchor/${meterId}`;
  },
  /** What the ledger subscribes to for anchors (MQTT-4.7.1-2 single-level wildcard). */
  anchorFilter: `${TOPIC_ROOT}/ledger/anchor/+`,
} as const;

/** Interface 2: meter → collection system. */
export const CollectorTopics = {
  keysPrefix: `${TOPIC_ROOT}/collector/keys/`,
  readingPrefix: `${TOPIC_ROOT}/collector/reading/`,
  keys: (meterId: string): string => {
    assertMeterId(meterId);
    return `${TOPIC_ROOT}/collector/keys/${meterId}`;
  },
  reading: (meterId: string): string => {
    assertMeterId(meterId);
    return `${TOPIC_ROOT}/collector/reading/${meterId}`;
  },
  keysFilter: `${TOPIC_ROOT}/collector/keys/+`,
  readingFilter: `${TOPIC_ROOT}/collector/reading/+`,
} as const;

/** Where a meter's agent receives responses on either broker (the default reply address). */
export function responseTopic(meterId: string): string {
  assertMeterId(meterId);
  return `${TOPIC_ROOT}/meter/${meterId}/response`;
}

/**
 * Where a meter that has no client certificate yet receives its registration answer (issue 5 item 9): the
 * shared bootstrap identity may subscribe here and publish only to LedgerTopics.register. The ledger sends
 * every registration answer here as well as to responseTopic(); it holds only public data (certificates).
 */
export function bootstrapResponseTopic(meterId: string): string {
  assertMeterId(meterId);
  return `${TOPIC_ROOT}/bootstrap/${meterId}/response`;
}
export const BOOTSTRAP_TOPIC_PREFIX = `${TOPIC_ROOT}/bootstrap/`;

export const RpcOp = z.enum(['register', 'challenge', 'auth', 'bind', 'anchor', 'delivery', 'keys', 'receipt']);
export type RpcOp = z.infer<typeof RpcOp>;

export const ErrorBody = z.object({ code: z.string(), message: z.string() });

/** Every response: `op` and `ref` say which request it answers. */
export const ResponseBody = z.union([
  z.object({ op: RpcOp, ref: z.string(), ok: z.literal(true) }).catchall(z.unknown()),
  z.object({ op: RpcOp, ref: z.string(), ok: z.literal(false), error: ErrorBody }),
]);
export type ResponseBody = z.infer<typeof ResponseBody>;

export const ChallengeRequest = z.object({ meterId: z.string().min(1).max(64) });
export const ChallengeResponse = z.object({ ok: z.literal(true), nonce: z.string().regex(/^[0-9a-f]{64}$/), expiresAt: z.string() });
export const RegisterResponse = z.object({
  ok: z.literal(true),
  certificate: z.string().regex(/^[0-9a-f]+$/),
  certificateSignature: z.string().regex(/^[0-9a-f]{128}$/),
  ledgerPublicKey: z.string().regex(/^[0-9a-f]{64}$/),
  /** When the request carried tlsCsr and the ledger runs a meter CA: the meter's client certificate and the CA, PEM. */
  tlsCertificate: z.string().max(8192).optional(),
  tlsCaCertificate: z.string().max(8192).optional(),
});
export const AnchorAck = z.object({
  ok: z.literal(true), seq: z.string(), leafIndex: z.string(), duplicate: z.boolean(),
  /** A duplicate of an anchor in a closed period log (docs/protocol.md §10.4): that period and its log origin. */
  period: z.string().max(32).optional(),
  logOrigin: z.string().max(256).optional(),
});
export const DeliveryAck = z.object({ ok: z.literal(true), seq: z.string(), duplicate: z.boolean() });
