import { ProtocolError } from './errors.js';

/**
 * A meter id is 1..64 characters of [A-Za-z0-9._-]: it appears in MQTT topic names, so it must never
 * contain the topic separator '/' or the wildcards '+' and '#' (MQTT-4.7.1-1, MQTT-4.7.3-1).
 */
export const METER_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export function assertMeterId(id: string): void {
  if (!METER_ID_PATTERN.test(id)) {
    throw new ProtocolError('BAD_METER_ID', `meter id "${id.slice(0, 70)}" must be 1..64 characters of A-Z a-z 0-9 . _ -`);
  }
}
