// Issue 7 item 3: the meter agent itself records a signed gap when a scheduled read fails for a whole
// interval; the ledger anchors it and the collector stores it as an explained gap (signer "": the meter).
import t from 'tap';
import { join } from 'node:path';
import pino from 'pino';
import { startAgent } from '@meterseal/device';
import { countingSource, ledgerAnchors, seqCoverage, startBackends, waitUntil } from '../../edge-gateway/src/testing.js';

const log = pino({ level: 'silent' });

t.test('a failed scheduled read becomes a signed SerialFailure gap, anchored and collected', async (t) => {
  const meter = { meterId: 'AG-1', customerAccount: 'ACC-AG' };
  const b = await startBackends([meter]);
  t.teardown(() => b.close());
  const src = countingSource();
  const agent = await startAgent(
    { dataDir: join(b.dir, 'agent'), ...meter, intervalMs: 100, requestTimeoutMs: 2000, ledger: { url: b.ledgerUrl }, collector: { url: b.collectorUrl } },
    { log, source: src },
  );
  t.teardown(() => agent.close());
  await agent.enrolled;
  await waitUntil('a few readings', () => src.reads >= 2);
  src.fail = true;
  await waitUntil('a gap for a failed interval', () => agent.stats().readErrors >= 2);
  src.fail = false;
  const at = src.reads;
  await waitUntil('readings again', () => src.reads >= at + 2);
  await agent.stopReadings();
  await waitUntil('delivered', () => agent.drained());
  await b.collector!.idle();
  const gaps = b.collector!.gaps.explainedGaps('AG-1');
  t.ok(gaps.length >= 2, `gaps stored (${gaps.length})`);
  t.ok(gaps.every((g) => g.reason === 'SerialFailure' && g.signer === '' && g.firstSeq === g.lastSeq), 'one seq each, signed by the meter itself');
  const collected = (await b.collector!.store.readings('AG-1', 1n, 1000n)).map((r) => r.reading.seq);
  const last = BigInt(agent.stats().outbox.readings);
  t.same(seqCoverage(collected, gaps, last), { missing: [], doubled: [] }, 'every seq is a reading or an explained gap');
  t.equal(ledgerAnchors(b.ledgerDir).get('AG-1')?.length, Number(last), 'the ledger anchored every reading and every gap');
});
