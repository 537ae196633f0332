import type { Logger } from 'pino';
import type { AirgapConfig } from '../config.js';
import type { AirgapDriver } from './driver.js';
import { GpioDriver } from './gpio.js';
import { openGpioLine } from './gpio-line.js';
import { NetnsDriver } from './netns.js';
import { RelayDriver, type RefusedRequest } from './relay.js';

/** The driver the config names, set up for its endpoint and target. */
export function createDriver(config: AirgapConfig, log: Logger, hooks: { onRefused?: (r: RefusedRequest) => void } = {}): AirgapDriver {
  switch (config.driver) {
    case 'relay':
      return new RelayDriver({
        listen: config.relay,
        target: config.target,
        log: log.child({ driver: 'relay' }),
        httpAllowlist: config.httpAllowlist,
        ...(hooks.onRefused ? { onRefused: hooks.onRefused } : {}),
      });
    case 'netns':
      return new NetnsDriver({ netns: config.netns, target: config.target, log: log.child({ driver: 'netns' }) });
    case 'gpio':
      return new GpioDriver({
        line: openGpioLine(config.gpio),
        activeHigh: config.gpio.activeHigh,
        target: config.target,
        log: log.child({ driver: 'gpio' }),
      });
  }
}
