// The ledger without its network: keys, whitelist, store and log, checked to belong together, and the
// parts every request handler gets. startLedger adds the broker, the MQTT client and the query API.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { bytesEqual, fromHex, toHex } from '@meterseal/protocol';
import { Challenges } from './challenges.js';
import type { LedgerConfig } from './config.js';
import { LedgerError } from './errors.js';
import type { LedgerDeps } from './handlers/context.js';
import { KeyCache } from './key-cache.js';
import { loadOrCreateKeys, publishKeys } from './keys.js';
import { LedgerLog } from './log.js';
import { openSqliteStore } from './sqlite-store.js';
import { Stats } from './stats.js';
import type { LedgerStore } from './store.js';
import { Whitelist } from './whitelist.js';

export const DB_FILE = 'ledger.sqlite';

export interface LedgerCore {
  deps: LedgerDeps;
  stats: Stats;
  /** Flushes counters and closes the store. */
  close(): void;
}

/** The data directory's log belongs to one origin and one ledger key; refuse to mix them. */
function checkStoreIdentity(store: LedgerStore, origin: string, publicKey: Uint8Array): void {
  const o = store.getMeta('origin');
  const k = store.getMeta('ledger_public_key');
  if (o === undefined && k === undefined && store.treeSize() === 0n) {
    store.setMeta('origin', origin);
    store.setMeta('ledger_public_key', toHex(publicKey));
    return;
  }
  if (o !== origin) throw new LedgerError('STORE_MISMATCH', `the log in this data directory has origin "${o}", not "${origin}"`);
  if (k === undefined || !bytesEqual(fromHex(k), publicKey)) {
    throw new LedgerError('STORE_MISMATCH', `the log in this data directory was signed by ledger key ${k}, not ${toHex(publicKey)} (ledger.key replaced?)`);
  }
}

export function openLedgerCore(config: LedgerConfig, logger: Logger): LedgerCore {
  const keys = loadOrCreateKeys(config.dataDir, config.origin, logger);
  const whitelist = Whitelist.load(config.whitelistFile);
  if (whitelist.missing) logger.warn({ file: config.whitelistFile }, 'no whitelist file: no meter can register until it exists');
  const store = openSqliteStore(join(config.dataDir, DB_FILE));
  try {
    checkStoreIdentity(store, config.origin, keys.publicKey);
    publishKeys(config.dataDir, keys);
    const log = new LedgerLog(store, config.origin, keys.noteSigner);
    log.latestCheckpoint(); // a signed checkpoint exists from the start, even for an empty log
    const stats = new Stats(store);
    const deps: LedgerDeps = {
      config, store, log, keys, whitelist,
      challenges: new Challenges(config.challengeTtlMs),
      keyCache: new KeyCache(),
      logger,
    };
    return {
      deps,
      stats,
      close() {
        try {
          stats.flush();
        } finally {
          store.close();
        }
      },
    };
  } catch (err) {
    store.close();
    throw err;
  }
}
