// The collector's /metrics: scraped over HTTP from a running collector; values change with real events —
// deliveries, a rejected delivery, a reconciliation through the air gap that finds an insider's edit.
import t from 'tap';
import { toHex } from '@meterseal/protocol';
import { deliver, makeMeter, makeReading } from './testing/fixtures.js';
import { connectMeter } from './testing/harness.js';
import { startScenario } from './dashboard/test-scenario.js';
import { makeLedgerKey } from './testing/fixtures.js';

async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(url);
  const text = await res.text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.trim()) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

t.test('ingest, rejections, reconciliation coverage, divergences by kind and air-gap seconds', async (t) => {
  const s = await startScenario(t, { readings: 5n, tamper: 2 });
  t.match(s.metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, 'loopback by default');
  t.equal((await fetch(s.metricsUrl.replace('/metrics', '/other'))).status, 404);
  const m1 = await scrape(s.metricsUrl);
  t.equal(m1.get('meterseal_collector_readings_collected_total'), 10);
  t.equal(m1.get('meterseal_collector_reconciliations_total{result="ok"}'), 1);
  t.equal(m1.get('meterseal_collector_divergences_total{kind="tampered"}'), 2, 'the two edits, by kind');
  t.equal(m1.get('meterseal_collector_last_reconciliation_items{outcome="matched"}'), 8);
  t.equal(m1.get('meterseal_collector_reconciliation_coverage_ratio'), 0.8);
  t.ok(m1.get('meterseal_collector_airgap_open_seconds_total')! > 0, 'the window was open for a while');
  t.equal(m1.get('meterseal_collector_airgap_window_open'), 0);
  t.ok(m1.get('meterseal_collector_checkpoint_age_seconds')! >= 0);

  // a new reading, and one with a bad signature (a meter whose certificate is from another ledger key)
  const key2 = makeLedgerKey('other.test/ledger');
  const stranger = makeMeter('DDSU666-000009', key2);
  const client = await connectMeter(t, s.collector.mqttUrl, 'DDSU666-000009');
  await client.announce(stranger.announcement, toHex(stranger.keyId));
  await client.deliver(1n, deliver(stranger, makeReading('DDSU666-000009', 1n)).payload);
  await s.collector.idle();
  const m2 = await scrape(s.metricsUrl);
  const rejected = [...m2].filter(([k]) => k.startsWith('meterseal_collector_rejections_total{')).reduce((n, [, v]) => n + v, 0);
  t.ok(rejected >= 1, `the refused announcement or delivery is counted (${rejected})`);

  const airgapBefore = m2.get('meterseal_collector_airgap_open_seconds_total')!;
  await s.collector.reconcile({ reason: 'second run' });
  const m3 = await scrape(s.metricsUrl);
  t.equal(m3.get('meterseal_collector_reconciliations_total{result="ok"}'), 2);
  t.equal(m3.get('meterseal_collector_divergences_total{kind="tampered"}'), 4, 'summed over runs');
  t.ok(m3.get('meterseal_collector_airgap_open_seconds_total')! > airgapBefore, 'air-gap seconds grow with each window');

  s.ledger.holdAnchors = false;
  await s.airgap.close(); // no controller: the next run fails
  await t.rejects(s.collector.reconcile({ reason: 'no controller' }));
  t.equal((await scrape(s.metricsUrl)).get('meterseal_collector_reconciliations_total{result="failed"}'), 1);
});
