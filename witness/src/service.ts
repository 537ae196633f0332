// startWitness: config, key, store, the add-checkpoint logic and its HTTP server, closed in reverse order.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { parseWitnessConfig, type WitnessConfig, type WitnessConfigInput } from './config.js';
import { WitnessError, describe } from './errors.js';
import { startHttp } from './http.js';
import { keyFileExists, loadOrCreateWitnessKey, publishVerifierKey } from './keys.js';
import { DB_FILE, SqliteWitnessStore } from './sqlite-store.js';
import type { CosignedHead, EvidenceRow, LedgerPosition } from './store.js';
import { Witness } from './witness.js';

export interface WitnessHandle {
  /** e.g. http://127.0.0.1:8580; POST <url>/add-checkpoint. */
  url: string;
  name: string;
  /** The C2SP vkey `name+keyhash+base64(0x04||pub)` log clients pin (also in <dataDir>/witness.vkey). */
  verifierKey: string;
  publicKey: Uint8Array;
  config: WitnessConfig;
  /** The latest cosigned head of a log, or null. */
  latest(origin: string): CosignedHead | null;
  /** Where a rotating ledger (by base origin) stands: the log cosigned last, or null. */
  position(base: string): LedgerPosition | null;
  /** Refused, validly log-signed requests kept for a log (possible split views). */
  evidence(origin: string): EvidenceRow[];
  close(): Promise<void>;
}

export interface WitnessOptions {
  log: Logger;
  /** Clock (epoch ms) for cosignature timestamps. Default Date.now. */
  now?: () => number;
}

export async function startWitness(input: WitnessConfigInput, options: WitnessOptions): Promise<WitnessHandle> {
  const config = parseWitnessConfig(input);
  const logger = options.log;
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const dbPath = join(config.dataDir, DB_FILE);
  // A witness that forgot what it cosigned could cosign a fork: never start a known key on an empty memory.
  if (keyFileExists(config.dataDir) && !existsSync(dbPath)) {
    throw new WitnessError('STATE_LOST', `${join(config.dataDir, 'witness.key')} exists but ${dbPath} does not: this witness's record of ` +
      'cosigned checkpoints is lost. Restore witness.sqlite from a backup, or retire this key (move witness.key away; a new witness key is made)');
  }
  const key = loadOrCreateWitnessKey(config.dataDir, config.name, logger);
  const store = new SqliteWitnessStore(dbPath, key.publicKey);
  try {
    const witness = new Witness({ store, signer: key.signer, logs: config.logs, log: logger, now: options.now ?? Date.now });
    publishVerifierKey(config.dataDir, key.verifierKey);
    const http = await startHttp(witness, logger, config.http.host, config.http.port);
    logger.info({ url: http.url, verifierKey: key.verifierKey, logs: config.logs.map((l) => (l.rotates ? `${l.origin}/<period>` : l.origin)) }, 'witness ready');
    let closed = false;
    return {
      url: http.url,
      name: config.name,
      verifierKey: key.verifierKey,
      publicKey: key.publicKey,
      config,
      latest: (origin) => store.latest(origin),
      position: (base) => store.ledgerPosition(base),
      evidence: (origin) => store.evidence(origin),
      async close() {
        if (closed) return;
        closed = true;
        try {
          await http.close();
        } catch (err) {
          logger.error({ err: describe(err) }, 'error while closing the witness HTTP server');
        }
        store.close();
      },
    };
  } catch (err) {
    store.close();
    throw err;
  }
}
