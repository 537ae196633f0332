import type { Logger } from 'pino';
import type { AirgapConfig } from '../config.js';
import type { AirgapDriver } from './driver.js';
import { RelayDriver } from './relay.js';

/** The driver the config names, set up for its relay endpoint and target. */
export function createDriver(config: AirgapConfig, log: Logger): AirgapDriver {
  switch (config.driver) {
    case 'relay':
      return new RelayDriver({ listen: config.relay, target: config.target, log: log.child({ driver: 'relay' }) });
  }
}
