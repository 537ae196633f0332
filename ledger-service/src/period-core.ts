// openLedgerCore for a ledger that rotates its log by period (config.rotation, period-set.ts): the same
// parts, with the store and log of the current period behind RotatingStore / RotatingLog (period-store.ts).
import type { Logger } from 'pino';
import { Challenges } from './challenges.js';
import type { LedgerConfig } from './config.js';
import type { LedgerCore } from './core.js';
import type { LedgerDeps } from './handlers/context.js';
import { KeyCache } from './key-cache.js';
import { loadOrCreateKeys, publishKeys } from './keys.js';
import { PeriodLogSet } from './period-set.js';
import { RotatingLog, RotatingStore } from './period-store.js';
import { Stats } from './stats.js';
import { Whitelist } from './whitelist.js';

export interface PeriodLedgerCore extends LedgerCore {
  periods: PeriodLogSet;
}

export function openPeriodLedgerCore(config: LedgerConfig, logger: Logger, now: () => number): PeriodLedgerCore {
  const unit = config.rotation?.period ?? 'month';
  const keys = loadOrCreateKeys(config.dataDir, config.origin, logger);
  const whitelist = Whitelist.load(config.whitelistFile);
  if (whitelist.missing) logger.warn({ file: config.whitelistFile }, 'no whitelist file: no meter can register until it exists');
  let stats: Stats | undefined;
  const periods = PeriodLogSet.open({
    dataDir: config.dataDir, baseOrigin: config.origin, unit, keys, now, logger: logger.child({ component: 'periods' }),
    beforeRotate: () => stats?.flush(), // rejections counted so far belong to the closing period
    ...(config.rotation?.prepareAheadMs !== undefined ? { prepareAheadMs: config.rotation.prepareAheadMs } : {}),
  });
  try {
    publishKeys(config.dataDir, keys);
    const store = new RotatingStore(periods, config.rotation?.closedSeqCacheMeters);
    const log = new RotatingLog(periods, store, keys.noteSigner, config.origin);
    stats = new Stats(store);
    const deps: LedgerDeps = {
      config, store, log, keys, whitelist,
      challenges: new Challenges(config.challengeTtlMs),
      keyCache: new KeyCache(),
      logger,
    };
    const s = stats;
    return {
      deps,
      stats: s,
      periods,
      close() {
        try {
          s.flush();
        } finally {
          periods.close();
        }
      },
    };
  } catch (err) {
    periods.close();
    throw err;
  }
}
