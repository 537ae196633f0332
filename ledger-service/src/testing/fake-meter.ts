// A meter's agent on interface 1, for tests (other packages may reuse it): a real mqtt.js client that
// builds every request with @meterseal/protocol and waits for the answer. Over MQTT 3.1.1 the answer is
// matched by `op` and `ref` on meterseal/v1/meter/<meterId>/response (docs/protocol.md §9); over MQTT 5
// the request also carries a Response Topic and Correlation Data and the answer is matched by those.
import { randomBytes } from 'node:crypto';
import mqtt, { type IClientPublishOptions, type MqttClient } from 'mqtt';
import {
  LedgerTopics, encodeAnchor, encodeAuthResponse, encodeKeyBinding, encodeRegistrationRequest, encodeSigned, fromHex,
  generateKeyPair, keyId, responseTopic, signRecord, type KeyPair, type RpcOp,
} from '@meterseal/protocol';
import { setNoDelay } from '../mqtt-transport.js';

/** A parsed response body: `{op, ref, ok, …}` (ResponseBody) with the op's fields. */
export type MeterResponse = { op: string; ref: string; ok: boolean; error?: { code: string; message: string } } & Record<string, unknown>;

export interface FakeMeterOptions {
  url: string;
  meterId: string;
  customerAccount: string;
  /** Default: a fresh key pair. */
  identity?: KeyPair;
  firmwareHash?: Uint8Array;
  /** 4 (MQTT 3.1.1, default; what the embedded aedes speaks) or 5. */
  protocolVersion?: 4 | 5;
  /** MQTT 5 only: the Response Topic to ask for (default: the meter's response topic). */
  responseTopic?: string;
  /** How long to wait for an answer. Default 5000 ms. */
  timeoutMs?: number;
  username?: string;
  password?: string;
}

interface Waiter {
  resolve(r: MeterResponse): void;
  timer: NodeJS.Timeout;
}

export class FakeMeter {
  readonly identity: KeyPair;
  /** The session key of the last successful bind(). */
  session?: { keys: KeyPair; keyId: Uint8Array; firstSeq: bigint };
  /** Answers that matched no outstanding request. */
  readonly unmatched: MeterResponse[] = [];
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly timeoutMs: number;

  private constructor(
    readonly options: FakeMeterOptions,
    readonly client: MqttClient,
  ) {
    this.identity = options.identity ?? generateKeyPair();
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  get meterId(): string {
    return this.options.meterId;
  }

  get responseTopic(): string {
    return this.options.responseTopic ?? responseTopic(this.options.meterId);
  }

  static async connect(options: FakeMeterOptions): Promise<FakeMeter> {
    const client = await mqtt.connectAsync(
      options.url,
      {
        protocolVersion: options.protocolVersion ?? 4,
        reconnectPeriod: 0,
        connectTimeout: 5000,
        ...(options.username !== undefined ? { username: options.username } : {}),
        ...(options.password !== undefined ? { password: options.password } : {}),
      },
      false,
    );
    setNoDelay(client);
    const m = new FakeMeter(options, client);
    client.on('message', (_topic, payload, packet) => m.onMessage(payload, packet.properties?.correlationData));
    await client.subscribeAsync(m.responseTopic, { qos: 1 });
    return m;
  }

  private onMessage(payload: Buffer, correlationData?: Buffer): void {
    let body: MeterResponse;
    try {
      body = JSON.parse(payload.toString('utf8')) as MeterResponse;
    } catch {
      return;
    }
    const key = correlationData ? `corr:${correlationData.toString('hex')}` : `${body.op}|${body.ref}`;
    const queue = this.waiters.get(key);
    const w = queue?.shift();
    if (queue && queue.length === 0) this.waiters.delete(key);
    if (!w) {
      this.unmatched.push(body);
      return;
    }
    clearTimeout(w.timer);
    w.resolve(body);
  }

  /** Publishes `payload` on `topic` (QoS 1) and resolves with the answer for (op, ref). */
  async request(topic: string, payload: Uint8Array | string, op: RpcOp, ref: string): Promise<MeterResponse> {
    const opts: IClientPublishOptions = { qos: 1 };
    let key = `${op}|${ref}`;
    if ((this.options.protocolVersion ?? 4) === 5) {
      const corr = randomBytes(16);
      key = `corr:${corr.toString('hex')}`;
      opts.properties = { responseTopic: this.responseTopic, correlationData: corr };
    }
    const answer = new Promise<MeterResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        const q = this.waiters.get(key);
        const i = q?.findIndex((x) => x.timer === timer) ?? -1;
        if (q && i >= 0) q.splice(i, 1);
        reject(new Error(`no answer to ${op} ${ref} from the ledger within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const q = this.waiters.get(key) ?? [];
      q.push({ resolve, timer });
      this.waiters.set(key, q);
    });
    await this.client.publishAsync(topic, typeof payload === 'string' ? payload : Buffer.from(payload), opts);
    return answer;
  }

  /** Publishes without waiting for any answer. */
  async publishRaw(topic: string, payload: Uint8Array | string): Promise<void> {
    await this.client.publishAsync(topic, typeof payload === 'string' ? payload : Buffer.from(payload), { qos: 1 });
  }

  registrationRequest(overrides: { customerAccount?: string; signWith?: Uint8Array } = {}): Uint8Array {
    const record = encodeRegistrationRequest({
      meterId: this.meterId,
      customerAccount: overrides.customerAccount ?? this.options.customerAccount,
      identityPublicKey: this.identity.publicKey,
      firmwareHash: this.options.firmwareHash ?? new Uint8Array(32).fill(0xf1),
      timeMs: BigInt(Date.now()),
    });
    return encodeSigned(record, signRecord(record, overrides.signWith ?? this.identity.secretKey));
  }

  register(overrides: { customerAccount?: string; signWith?: Uint8Array } = {}): Promise<MeterResponse> {
    return this.request(LedgerTopics.register, this.registrationRequest(overrides), 'register', 'register');
  }

  challenge(meterId = this.meterId): Promise<MeterResponse> {
    return this.request(LedgerTopics.challenge, JSON.stringify({ meterId }), 'challenge', 'challenge');
  }

  /** Answers a challenge nonce (hex), signed by the identity key unless `signWith` says otherwise. */
  answer(nonceHex: string, signWith: Uint8Array = this.identity.secretKey): Promise<MeterResponse> {
    const record = encodeAuthResponse({ meterId: this.meterId, nonce: fromHex(nonceHex, 32), timeMs: BigInt(Date.now()) });
    return this.request(LedgerTopics.auth, encodeSigned(record, signRecord(record, signWith)), 'auth', 'auth');
  }

  /** challenge + answer. */
  async authenticate(signWith?: Uint8Array): Promise<MeterResponse> {
    const c = await this.challenge();
    if (!c.ok) return c;
    return this.answer(c.nonce as string, signWith);
  }

  /** The signed KeyBinding bytes for a session key. */
  signedBinding(session: KeyPair, firstSeq: bigint, signWith: Uint8Array = this.identity.secretKey): Uint8Array {
    const record = encodeKeyBinding({
      meterId: this.meterId,
      identityKeyId: keyId(this.identity.publicKey),
      sessionPublicKey: session.publicKey,
      firstSeq,
      createdAtMs: BigInt(Date.now()),
    });
    return encodeSigned(record, signRecord(record, signWith));
  }

  /** Binds a (fresh, unless given) session key from `firstSeq` on; remembers it on success. */
  async bind(firstSeq: bigint, session: KeyPair = generateKeyPair(), signed?: Uint8Array): Promise<MeterResponse> {
    const r = await this.request(LedgerTopics.bind, signed ?? this.signedBinding(session, firstSeq), 'bind', 'bind');
    if (r.ok) this.session = { keys: session, keyId: keyId(session.publicKey), firstSeq };
    return r;
  }

  /** register (if needed), authenticate and bind: a meter ready to anchor. Throws on any refusal. */
  async onboard(firstSeq = 1n): Promise<void> {
    for (const step of [() => this.register(), () => this.authenticate(), () => this.bind(firstSeq)]) {
      const r = await step();
      if (!r.ok) throw new Error(`${r.op} refused: ${r.error?.code} ${r.error?.message}`);
    }
  }

  /** Anchor bytes || signature for (seq, readingHash), signed with the session key unless told otherwise. */
  signedAnchor(seq: bigint, readingHash: Uint8Array, o: { signWith?: Uint8Array; keyId?: Uint8Array; meterId?: string } = {}): Uint8Array {
    if (!this.session && (!o.signWith || !o.keyId)) throw new Error('no session key: bind() first');
    const record = encodeAnchor({ meterId: o.meterId ?? this.meterId, seq, keyId: o.keyId ?? this.session!.keyId, readingHash });
    return encodeSigned(record, signRecord(record, o.signWith ?? this.session!.keys.secretKey));
  }

  /** Sends an anchor (default: a random reading hash) and waits for its AnchorAck or refusal. */
  async anchor(seq: bigint, readingHash: Uint8Array = new Uint8Array(randomBytes(32)), signed?: Uint8Array): Promise<{ response: MeterResponse; signed: Uint8Array }> {
    const bytes = signed ?? this.signedAnchor(seq, readingHash);
    const response = await this.request(LedgerTopics.anchor(this.meterId), bytes, 'anchor', seq.toString());
    return { response, signed: bytes };
  }

  async close(): Promise<void> {
    for (const q of this.waiters.values()) for (const w of q) clearTimeout(w.timer);
    this.waiters.clear();
    await this.client.endAsync();
  }
}

