// The bench report's shape: every figure row carries value, reference, ratio, target (or says none was set)
// and the machine, in the Markdown of bench-results/latest.md and in the JSON.
import t from 'tap';
import { jsonReport, markdownReport, machineShort, targetOf } from './report.js';
import type { BenchRun } from './index.js';
import { compare } from './types.js';

const run: BenchRun = {
  machine: { cpu: 'Test CPU (2000 MHz)', cores: 2, node: 'v20.0.0', os: 'Linux x64', memoryGiB: 4, loadAverage1m: 0.5 },
  startedAt: '2026-11-21T20:00:00.000Z',
  results: [
    {
      name: 'ledger',
      figures: [
        compare({ metric: 'ingest end to end (verified, appended, durable)', value: 100, unit: 'anchors/s' }, { metric: 'verify ceiling', value: 400, unit: 'verifies/s' }, 'ratio ≥ 0.75'),
        compare({ metric: 'latency publish → answer, p99', value: 30, unit: 'ms' }, { metric: 'p50', value: 10, unit: 'ms' }),
      ],
    },
    { name: 'reconcile', figures: [compare({ metric: 'round trips to locate one altered reading', value: 9, unit: 'requests' }, { metric: 'log2 bound', value: 9, unit: 'requests' })] },
  ],
};

t.test('every Markdown row has value, reference, ratio, target and machine', async (t) => {
  const rows = markdownReport(run).split('\n').filter((l) => l.startsWith('| ledger |') || l.startsWith('| reconcile |'));
  t.equal(rows.length, 3);
  for (const r of rows) {
    const cells = r.split(' | ');
    t.equal(cells.length, 7, `${cells[1]}: benchmark, figure, value, reference, ratio, target, machine`);
    t.ok(cells.every((c) => c.trim().length > 0), 'no empty cell');
    t.match(r, /Test CPU ×2, Node v20\.0\.0, load 0\.5 \|$/, 'the machine on the row');
  }
  t.match(rows[0]!, /\| 0\.25× \| ratio ≥ 0\.75 \|/);
  t.match(rows[1]!, /context figure: no target set/, 'a figure without a target says so');
  t.match(rows[2]!, /ratio ≤ 1 \(O\(log n\) round trips\)/, 'a target the issue set is filled in');
  t.equal(machineShort(run.machine), 'Test CPU ×2, Node v20.0.0, load 0.5');
});

t.test('the JSON carries the filled-in targets and the machine', async (t) => {
  const j = JSON.parse(jsonReport(run)) as BenchRun;
  t.same(j.machine, run.machine);
  t.equal(j.results[1]!.figures[0]!.target, 'ratio ≤ 1 (O(log n) round trips)');
  t.equal(j.results[0]!.figures[1]!.target, undefined, 'no target invented');
  t.equal(targetOf(run.results[0]!.figures[0]!), 'ratio ≥ 0.75');
});
