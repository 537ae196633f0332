// Every window open and close recorded in the ledger (issue 6 item 4): the controller signs an AirgapWindow
// record (protocol/src/airgap-window.ts, type 0x14) with its own Ed25519 key and POSTs it to the ledger's
// POST /v1/airgap-events — on the ledger's side of the gap, over the controller's own route, so recording
// never depends on the window being open. Only @meterseal/protocol and HTTP; nothing of the ledger's code.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { generateKeyPair, publicKeyFromSecret, signAirgapWindow, type AirgapWindowRecord } from '@meterseal/protocol';
import { AirgapError } from './errors.js';

export interface LedgerRecordConfig {
  /** The ledger's query API base URL as the controller reaches it, e.g. "http://10.20.0.5:8480". */
  url: string;
  /** 64 hex digits (the Ed25519 seed); created with mode 0600 if missing, the public key beside it as <keyFile>.pub. */
  keyFile: string;
  /** true: a window does not open unless the ledger accepted its open record. */
  required: boolean;
  timeoutMs: number;
}

/** Loads (or creates) the controller's signing key; returns the seed and the public key. */
export function loadControllerKey(keyFile: string): { secretKey: Uint8Array; publicKey: Uint8Array } {
  if (!existsSync(keyFile)) {
    const pair = generateKeyPair();
    mkdirSync(dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, `${Buffer.from(pair.secretKey).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    writeFileSync(`${keyFile}.pub`, `${Buffer.from(pair.publicKey).toString('hex')}\n`);
    return pair;
  }
  chmodSync(keyFile, 0o600);
  const hex = readFileSync(keyFile, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new AirgapError('CONFIG_INVALID', `the controller key file ${keyFile} does not hold 64 hex digits`);
  const secretKey = new Uint8Array(Buffer.from(hex, 'hex'));
  return { secretKey, publicKey: publicKeyFromSecret(secretKey) };
}

export class LedgerRecorder {
  readonly publicKeyHex: string;
  readonly #secretKey: Uint8Array;
  readonly #config: LedgerRecordConfig;
  readonly #log: Logger;
  readonly #retries = new Set<Promise<void>>();
  #closed = false;

  constructor(config: LedgerRecordConfig, log: Logger) {
    const key = loadControllerKey(config.keyFile);
    this.#secretKey = key.secretKey;
    this.publicKeyHex = Buffer.from(key.publicKey).toString('hex');
    this.#config = config;
    this.#log = log.child({ component: 'ledger-record' });
  }

  get required(): boolean {
    return this.#config.required;
  }

  /** One POST; throws LEDGER_RECORD_FAILED unless the ledger answered 200 (duplicate) or 201 (stored). */
  async submit(record: AirgapWindowRecord): Promise<void> {
    const body = signAirgapWindow(record, this.#secretKey);
    let res: Response;
    try {
      res = await fetch(`${this.#config.url.replace(/\/+$/, '')}/v1/airgap-events`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body,
        signal: AbortSignal.timeout(this.#config.timeoutMs),
      });
    } catch (cause) {
      throw new AirgapError('LEDGER_RECORD_FAILED', `the ledger at ${this.#config.url} is unreachable`, { cause });
    }
    const text = (await res.text().catch(() => '')).slice(0, 300);
    if (res.status !== 200 && res.status !== 201) {
      throw new AirgapError('LEDGER_RECORD_FAILED', `the ledger refused the ${record.event} record: HTTP ${res.status} ${text}`);
    }
    this.#log.info({ windowId: record.windowId, event: record.event, status: res.status }, 'window recorded in the ledger');
  }

  /** Submits in the background, retrying with backoff (a close must be recorded even if the ledger is briefly down). */
  submitEventually(record: AirgapWindowRecord, attempts = 10): void {
    const run = (async () => {
      for (let i = 0; i < attempts && !this.#closed; i++) {
        try {
          await this.submit(record);
          return;
        } catch (err) {
          this.#log.warn({ err, windowId: record.windowId, event: record.event, attempt: i + 1 }, 'recording the window in the ledger failed; retrying');
          await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** i)).unref());
        }
      }
      if (!this.#closed) this.#log.error({ windowId: record.windowId, event: record.event }, 'the window could not be recorded in the ledger (the local audit log has it)');
    })();
    this.#retries.add(run);
    void run.finally(() => this.#retries.delete(run));
  }

  /** Waits (bounded) for background submissions, then stops retrying. */
  async close(waitMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.#retries), new Promise((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
    this.#closed = true;
  }
}
