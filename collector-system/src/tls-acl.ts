// Per-meter topic rules on interface 2 (issue 5 item 9), for a meter known by its client certificate's CN
// (tls.ts). The interface 2 topics are protocol/src/topics.ts CollectorTopics: a meter publishes its key
// announcements to meterseal/v1/collector/keys/<id> and its deliveries (readings, gaps, corrections) to
// meterseal/v1/collector/reading/<id>, and reads answers under meterseal/v1/meter/<id>/ (docs/protocol.md §9).
import { CollectorTopics, TOPIC_ROOT } from '@meterseal/protocol';

const OWN_PUBLISH = [CollectorTopics.keysPrefix, CollectorTopics.readingPrefix];
const RESPONSES = `${TOPIC_ROOT}/meter/`;

/** A meter may publish only to the interface 2 topics that end in its own id. */
export function meterMayPublish(meterId: string, topic: string): boolean {
  return OWN_PUBLISH.some((prefix) => topic === prefix + meterId);
}

/**
 * A meter may subscribe only within its own response subtree. A wildcard inside it is harmless (it cannot
 * climb above meterseal/v1/meter/<id>/); a filter that starts elsewhere, or a wildcard in place of the id, is refused.
 */
export function meterMaySubscribe(meterId: string, filter: string): boolean {
  const own = `${RESPONSES}${meterId}`;
  return filter === own || filter.startsWith(`${own}/`);
}
