// Request/response over one MQTT connection (docs/protocol.md §9): publish a signed record, wait for the
// JSON response that carries the same op and ref on this meter's response topic.
import mqtt, { type MqttClient } from 'mqtt';
import { ResponseBody, responseTopic, type RpcOp } from '@meterseal/protocol';
import type { Logger } from 'pino';
import { AgentError } from './errors.js';

interface Waiter {
  resolve: (body: ResponseBody) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class RpcClient {
  readonly client: MqttClient;
  private readonly waiters = new Map<string, Waiter>();
  private readonly replyTopic: string;

  constructor(
    readonly name: string,
    url: string,
    meterId: string,
    private readonly log: Logger,
    private readonly timeoutMs: number,
  ) {
    this.replyTopic = responseTopic(meterId);
    this.client = mqtt.connect(url, {
      clientId: `meterseal-agent-${meterId}-${name}-${Math.random().toString(16).slice(2, 8)}`,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
      clean: true,
    });
    this.client.on('connect', () => {
      log.info({ iface: name, url }, 'connected');
      this.client.subscribe(this.replyTopic, { qos: 1 });
    });
    this.client.on('offline', () => log.warn({ iface: name }, 'offline; will reconnect'));
    this.client.on('error', (err) => log.warn({ iface: name, err: err.message }, 'connection error'));
    this.client.on('message', (_topic, payload) => this.onMessage(payload));
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** Resolves when connected; rejects with AgentError NOT_CONNECTED after timeoutMs. */
  waitConnected(timeoutMs: number): Promise<void> {
    if (this.client.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onConnect = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.client.off('connect', onConnect);
        reject(new AgentError('NOT_CONNECTED', `${this.name} interface not connected after ${timeoutMs} ms`));
      }, timeoutMs);
      this.client.once('connect', onConnect);
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
      this.client.publish(topic, Buffer.from(payload), { qos: 1 }, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.waiters.delete(key);
        reject(new AgentError('PUBLISH_FAILED', `publish to ${topic} failed: ${err.message}`, { cause: err }));
      });
    });
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
