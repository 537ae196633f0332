// Request/response over MQTT (docs/protocol.md §9). Every response is JSON carrying `op` and `ref`, sent
// to the meter's response topic meterseal/v1/meter/<meterId>/response — which works on MQTT 3.1.1 (the
// embedded aedes) — or, when the request came over MQTT 5 with a Response Topic, to that topic with the
// request's Correlation Data echoed (MQTT 5.0 §4.10, MQTT-3.3.2-15/16). Payloads are hostile: nothing a
// publisher sends can make dispatch throw; every refusal is counted by code and logged at warn. Anchors go
// through group commit (anchor-ingest.ts); every other request runs after the anchors that arrived before it.
import type { Logger } from 'pino';
import { LedgerTopics, TOPIC_ROOT, bootstrapResponseTopic, responseTopic, type RpcOp } from '@meterseal/protocol';
import { LedgerError, Rejection, describe, type RejectionCode } from './errors.js';
import { peekRecord, type Handler, type LedgerDeps, type RequestContext } from './handlers/context.js';
import { AnchorIngest } from './anchor-ingest.js';
import { anchorTopicMeterId } from './handlers/anchor.js';
import { handleAuth } from './handlers/auth.js';
import { handleBind } from './handlers/bind.js';
import { handleChallenge } from './handlers/challenge.js';
import { handleRegister } from './handlers/register.js';
import { handleReceipt, peekReceipt } from './receipt.js';
import { GAP_TOPIC_FILTER } from '@meterseal/protocol';
import { gapTopicMeterId, handleGap, peekGap } from './handlers/gap.js';

/** The largest request accepted; every legitimate one is under 600 bytes. */
export const MAX_REQUEST_BYTES = 4096;
/** MQTT 5 Response Topics the ledger will publish to: only under meterseal/v1/meter/. */
const RESPONSE_TOPIC_PREFIX = `${TOPIC_ROOT}/meter/`;
const MAX_RESPONSE_TOPIC_LENGTH = 512;

export interface InboundMessage {
  topic: string;
  payload: Uint8Array;
  /** MQTT 5 Response Topic, if the request carried one. */
  responseTopic?: string;
  /** MQTT 5 Correlation Data, if the request carried it. */
  correlationData?: Uint8Array;
  /** Who published it, when the broker is the ledger's own (broker.ts): client id and remote address. */
  source?: { clientId?: string; address?: string };
}

export interface OutboundMessage {
  topic: string;
  /** JSON text. */
  payload: string;
  correlationData?: Uint8Array;
}

export type Publish = (m: OutboundMessage) => Promise<void>;

interface Route {
  op: RpcOp;
  match(topic: string): boolean;
  /** Best effort, before anything is checked: who to answer and what to call the request (ref). */
  peek(ctx: RequestContext, payload: Uint8Array): void;
  /** Absent for anchors, which AnchorIngest takes. */
  handler?: Handler;
  /** Gaps (handlers/gap.ts): decoded here, then anchored through AnchorIngest. */
  viaIngest?: (ctx: RequestContext, payload: Uint8Array, deps: LedgerDeps, ingest: AnchorIngest) => Promise<Record<string, unknown>>;
}

/** Signed identity records start with type, version and the meter id (docs/protocol.md §5–7). */
const peekMeter = (ctx: RequestContext, payload: Uint8Array): void => {
  const id = peekRecord(payload).meterId;
  if (id !== undefined) ctx.meterId = id;
};

/** Anchors: the meter from the topic, the ref from the seq if it can be read. */
const peekAnchor = (ctx: RequestContext, payload: Uint8Array): void => {
  const id = anchorTopicMeterId(ctx.topic);
  if (id !== undefined) ctx.meterId = id;
  const seq = peekRecord(payload).seq;
  if (seq !== undefined) ctx.ref = seq.toString();
};

const ROUTES: Route[] = [
  { op: 'anchor', match: (t) => t.startsWith(LedgerTopics.anchorPrefix), peek: peekAnchor },
  { op: 'register', match: (t) => t === LedgerTopics.register, peek: peekMeter, handler: handleRegister },
  { op: 'challenge', match: (t) => t === LedgerTopics.challenge, peek: () => undefined, handler: handleChallenge },
  { op: 'auth', match: (t) => t === LedgerTopics.auth, peek: peekMeter, handler: handleAuth },
  { op: 'bind', match: (t) => t === LedgerTopics.bind, peek: peekMeter, handler: handleBind },
  { op: 'receipt', match: (t) => t === LedgerTopics.receipt, peek: peekReceipt, handler: handleReceipt },
  { op: 'anchor', match: (t) => gapTopicMeterId(t) !== undefined, peek: peekGap, viaIngest: handleGap }, // §12: answered as an anchor
];

/** The topic filters the ledger subscribes to. */
export const REQUEST_TOPICS = [LedgerTopics.register, LedgerTopics.challenge, LedgerTopics.auth, LedgerTopics.bind, LedgerTopics.receipt, LedgerTopics.anchorFilter, GAP_TOPIC_FILTER];

/** A usable MQTT 5 Response Topic: under meterseal/v1/meter/, no wildcards (MQTT-3.3.2-14), bounded. */
export function acceptableResponseTopic(t: string): boolean {
  return t.startsWith(RESPONSE_TOPIC_PREFIX) && t.length <= MAX_RESPONSE_TOPIC_LENGTH && !/[+#\u0000]/.test(t);
}

export class RpcRouter {
  constructor(
    private readonly deps: LedgerDeps,
    private readonly publish: Publish,
    private readonly onReject: (code: RejectionCode) => void,
    private readonly now: () => number,
    readonly ingest = new AnchorIngest(deps, { maxGroup: 512 }),
  ) {}

  /** Handles one request and publishes its answer. Never throws. */
  async dispatch(msg: InboundMessage): Promise<void> {
    const route = ROUTES.find((r) => r.match(msg.topic));
    if (!route) return; // not a request topic (the subscriptions make this unreachable)
    const ctx: RequestContext = { op: route.op, topic: msg.topic, ref: route.op === 'anchor' ? '' : route.op, nowMs: this.now(), ...(msg.source ? { source: msg.source } : {}) };
    const body = await this.run(route, ctx, msg.payload);
    const address = this.address(ctx, msg);
    if (!address) {
      this.deps.logger.warn({ op: ctx.op, topic: msg.topic }, 'no meter id and no MQTT 5 response topic: response dropped');
      return;
    }
    try {
      await this.publish({ ...address, payload: JSON.stringify(body) });
      // issue 5 item 9: a meter still on the bootstrap identity may read only bootstrap response topics
      if (ctx.op === 'register' && ctx.meterId !== undefined) await this.publish({ topic: bootstrapResponseTopic(ctx.meterId), payload: JSON.stringify(body) });
    } catch (err) {
      this.deps.logger.error({ op: ctx.op, meterId: ctx.meterId, err: describe(err) }, 'could not publish response');
    }
  }

  private async run(route: Route, ctx: RequestContext, payload: Uint8Array): Promise<Record<string, unknown>> {
    const head = { op: ctx.op };
    try {
      route.peek(ctx, payload);
      if (payload.length > MAX_REQUEST_BYTES) {
        throw new Rejection('MALFORMED', `payload of ${payload.length} bytes exceeds the ${MAX_REQUEST_BYTES}-byte limit`);
      }
      const handler = route.handler;
      const fields = route.viaIngest ? await route.viaIngest(ctx, payload, this.deps, this.ingest)
        : handler ? await this.ingest.exclusive(() => handler(ctx, payload, this.deps)) : await this.ingest.anchor(ctx, payload);
      return { ...head, ref: ctx.ref, ok: true, ...fields };
    } catch (err) {
      const rejection =
        err instanceof Rejection
          ? err
          : storageFull(err)
            ? new Rejection('INTERNAL', 'storage full: the ledger could not write its log (nothing was appended); send again later', { cause: err })
            : new Rejection('INTERNAL', `internal error${err instanceof LedgerError ? ` (${err.code})` : ''}`, { cause: err });
      this.onReject(rejection.code);
      const logFields = { op: ctx.op, ref: ctx.ref, meterId: ctx.meterId, code: rejection.code };
      if (rejection.code === 'INTERNAL') this.deps.logger.error({ ...logFields, reason: rejection.message, err }, 'request failed');
      else this.deps.logger.warn({ ...logFields, reason: rejection.message }, 'request refused');
      return { ...head, ref: ctx.ref, ok: false, error: { code: rejection.code, message: rejection.message }, ...rejection.fields };
    }
  }

  private address(ctx: RequestContext, msg: InboundMessage): { topic: string; correlationData?: Uint8Array } | undefined {
    if (msg.responseTopic !== undefined) {
      if (acceptableResponseTopic(msg.responseTopic)) {
        return msg.correlationData ? { topic: msg.responseTopic, correlationData: msg.correlationData } : { topic: msg.responseTopic };
      }
      this.deps.logger.warn({ op: ctx.op, responseTopic: msg.responseTopic.slice(0, 120) }, `ignored an MQTT 5 response topic outside ${RESPONSE_TOPIC_PREFIX}`);
    }
    return ctx.meterId !== undefined ? { topic: responseTopic(ctx.meterId) } : undefined;
  }
}

/** SQLite's SQLITE_FULL (better-sqlite3 puts the result code name in `code`) or ENOSPC from a file write. */
function storageFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || code === 'ENOSPC';
}
