// Request/response over one MQTT connection (docs/protocol.md §9): publish a signed record, wait for the
// JSON response that carries the same op and ref on this meter's response topic.
import mqtt, { MqttClient } from 'mqtt';
import { ResponseBody, bootstrapResponseTopic, responseTopic, type RpcOp } from '@meterseal/protocol';
import type { Logger } from 'pino';
import { AgentError } from './errors.js';
import type { Duplex } from 'node:stream';

/** How an mqtts connection is opened: tls-identity.ts (the ledger: bootstrap or own certificate; the collector: own). */
export interface TlsDialer {
  /** True while on the shared bootstrap identity (registration topics only). */
  readonly bootstrap: boolean;
  dial(host: string, port: number): Duplex;
}

interface Waiter {
  resolve: (body: ResponseBody) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** 'auto' speaks MQTT 5 and falls back to 3.1.1 when the broker refuses 5 (aedes does; mosquitto does not). */
export type MqttVersionChoice = 'auto' | 3 | 5;

// MQTT 3.1.1 §3.2.2.3 / MQTT 5.0 §3.2.2.2: CONNACK return code 1 = unacceptable protocol version
const UNACCEPTABLE_PROTOCOL_VERSION = 1;

export class RpcClient {
  private client!: MqttClient;
  private readonly waiters = new Map<string, Waiter>();
  private replyTopic: string;
  private version: 4 | 5;
  private readonly connectWaiters = new Set<() => void>();

  constructor(
    readonly name: string,
    private readonly url: string,
    private readonly meterId: string,
    private readonly log: Logger,
    private readonly timeoutMs: number,
    private readonly versionChoice: MqttVersionChoice = 'auto',
    /** mqtts with a client certificate (issue 5 item 9): the bootstrap identity until the meter has its own. */
    private readonly tls?: TlsDialer,
  ) {
    this.replyTopic = responseTopic(meterId);
    this.version = versionChoice === 3 ? 4 : 5;
    this.connect();
  }

  /** The MQTT protocol level in use: 4 (3.1.1) or 5. */
  get protocolVersion(): 4 | 5 {
    return this.version;
  }

  /** True while connected (or connecting) on the shared bootstrap identity: registration only. */
  get bootstrap(): boolean {
    return this.tls?.bootstrap ?? false;
  }

  private connect(): void {
    const options = {
      clientId: `meterseal-agent-${this.meterId}-${this.name}-${Math.random().toString(16).slice(2, 8)}`,
      protocolVersion: this.version,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
      clean: true,
      // no table of 65,536 pre-made 2-byte Buffers for packet ids (mqtt-packet; ~6 MB of heap): a meter sends a
      // few packets a minute (measured in the gateway bench: agent peak RSS 79.7 -> 73.2 MB)
      writeCache: false,
    };
    // a bootstrap client may read only bootstrap answers (acl.ts); the meter's own identity its response topic
    this.replyTopic = this.bootstrap ? bootstrapResponseTopic(this.meterId) : responseTopic(this.meterId);
    let client: MqttClient;
    if (this.tls) {
      const u = new URL(this.url);
      if (u.protocol !== 'mqtts:') throw new AgentError('TLS_CONFIG', `${this.name}.tls needs an mqtts:// url, not ${this.url}`);
      const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
      const port = u.port ? Number(u.port) : 8883; // IANA secure-mqtt
      const tls = this.tls;
      client = new MqttClient(() => tls.dial(host, port), options); // tls.ts: the broker check that survives no RTC
    } else {
      client = mqtt.connect(this.url, options);
    }
    this.client = client;
    client.on('connect', () => {
      this.log.info({ iface: this.name, url: this.url, mqtt: this.version === 5 ? '5' : '3.1.1' }, 'connected');
      client.subscribe(this.replyTopic, { qos: 1 });
      for (const w of this.connectWaiters) w();
      this.connectWaiters.clear();
    });
    client.on('offline', () => this.log.warn({ iface: this.name }, 'offline; will reconnect'));
    client.on('error', (err: Error & { code?: number }) => {
      if (this.versionChoice === 'auto' && this.version === 5 && err.code === UNACCEPTABLE_PROTOCOL_VERSION) {
        this.log.info({ iface: this.name }, 'the broker does not speak MQTT 5; using MQTT 3.1.1');
        this.version = 4;
        client.removeAllListeners();
        client.on('error', () => undefined);
        client.end(true);
        this.connect();
        return;
      }
      this.log.warn({ iface: this.name, err: err.message }, 'connection error');
    });
    client.on('message', (_topic, payload) => this.onMessage(payload));
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** Resolves when connected (on whichever protocol level); rejects with AgentError NOT_CONNECTED after timeoutMs. */
  waitConnected(timeoutMs: number): Promise<void> {
    if (this.client.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onConnect = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.connectWaiters.delete(onConnect);
        reject(new AgentError('NOT_CONNECTED', `${this.name} interface not connected after ${timeoutMs} ms`));
      }, timeoutMs);
      this.connectWaiters.add(onConnect);
    });
  }

  private onMessage(payload: Buffer): void {
    let body: ResponseBody;
    try {
      body = ResponseBody.parse(JSON.parse(payload.toString('utf8')));
    } catch (err) {
      this.log.warn({ iface: this.name, err: (err as Error).message }, 'ignoring a malformed response');
      return;
    }
    const key = `${body.op}:${body.ref}`;
    const w = this.waiters.get(key);
    if (!w) return; // a late answer to a request we already gave up on; the retry will get its own
    this.waiters.delete(key);
    clearTimeout(w.timer);
    w.resolve(body);
  }

  /** Publishes and waits for the answer; rejects with AgentError TIMEOUT or NOT_CONNECTED. */
  request(op: RpcOp, ref: string, topic: string, payload: Uint8Array): Promise<ResponseBody> {
    if (!this.client.connected) return Promise.reject(new AgentError('NOT_CONNECTED', `${this.name} interface is not connected`));
    const key = `${op}:${ref}`;
    this.waiters.get(key)?.reject(new AgentError('SUPERSEDED', `request ${key} was sent again`));
    return new Promise<ResponseBody>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(new AgentError('TIMEOUT', `no answer to ${op} ${ref} on the ${this.name} interface within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.waiters.set(key, { resolve, reject, timer });
      // MQTT 5.0 §4.10: ask for the answer on our response topic, with the request's key as correlation data
      const properties = this.version === 5 && !this.bootstrap ? { responseTopic: this.replyTopic, correlationData: Buffer.from(key) } : undefined;
      this.client.publish(topic, Buffer.from(payload), { qos: 1, ...(properties ? { properties } : {}) }, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.waiters.delete(key);
        reject(new AgentError('PUBLISH_FAILED', `publish to ${topic} failed: ${err.message}`, { cause: err }));
      });
    });
  }

  /**
   * Drops the connection and connects again with the current identity (after the meter's own certificate is
   * installed: from the bootstrap identity to the meter's). Resolves once connected.
   */
  async reconnect(timeoutMs: number): Promise<void> {
    const old = this.client;
    old.removeAllListeners();
    old.on('error', () => undefined);
    await old.endAsync(true);
    this.connect();
    await this.waitConnected(timeoutMs);
  }

  async close(): Promise<void> {
    for (const w of this.waiters.values()) {
      clearTimeout(w.timer);
      w.reject(new AgentError('CLOSED', 'agent is shutting down'));
    }
    this.waiters.clear();
    await this.client.endAsync(true);
  }
}
