import type { Logger } from 'pino';
import type { AirgapConfig } from '../config.js';
import type { AirgapDriver } from './driver.js';
import { GpioDriver } from './gpio.js';
import { openGpioLine } from './gpio-line.js';
import { NetnsDriver } from './netns.js';
import { RelayDriver } from './relay.js';

/** The driver the config names, set up for its endpoint and target. */
export function createDriver(config: AirgapConfig, log: Logger): AirgapDriver {
  switch (config.driver) {
    case 'relay':
      return new RelayDriver({ listen: config.relay, target: config.target, log: log.child({ driver: 'relay' }) });
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
