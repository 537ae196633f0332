// Every benchmark runs end to end on a tiny input and returns well-formed figures: finite, positive, each
// ratio equal to value / reference within rounding. No timing value is asserted (CONTRIBUTING: speed
// lives in `npm run bench`, never in a test).
import t, { type Test } from 'tap';
import { BENCHMARKS, runBenchmarks, selectBenchmarks } from './index.js';
import { markdownReport, textReport } from './report.js';
import type { Result } from './types.js';

const finitePositive = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x > 0;

function checkShape(t: Test, r: Result, name: string): void {
  t.equal(r.name, name);
  t.ok(r.figures.length > 0, 'at least one figure');
  for (const f of r.figures) {
    t.ok(f.metric.length > 0 && f.unit.length > 0, `${f.metric}: named, with a unit`);
    t.ok(finitePositive(f.value), `${f.metric}: value finite and > 0`);
    t.ok(f.reference, `${f.metric}: has a reference from the same run`);
    if (!f.reference) continue;
    t.ok(finitePositive(f.reference.value) && f.reference.unit.length > 0, `${f.metric}: reference finite and > 0, with a unit`);
    t.ok(finitePositive(f.ratio), `${f.metric}: ratio finite and > 0`);
    const expected = f.value / f.reference.value;
    t.ok(Math.abs(f.ratio! - expected) <= 1e-3 * expected, `${f.metric}: ratio ${f.ratio} = value / reference (${expected}) within rounding`);
  }
}

for (const b of BENCHMARKS) {
  t.test(`${b.name}: figures are well formed`, async (t) => {
    const lines: string[] = [];
    const r = await b.run({ n: 50, quick: true, progress: (l) => lines.push(l) });
    checkShape(t, r, b.name);
    t.ok(lines.length > 0, 'reports progress');
  });
}

t.test('a run describes the machine, and its reports name every figure', async (t) => {
  const run = await runBenchmarks(selectBenchmarks(['protocol']), { n: 20, quick: true, progress: () => undefined });
  t.match(run.machine, { cpu: String, cores: Number, node: process.version, os: String });
  t.ok(run.machine.cores >= 1);
  t.match(run.startedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.equal(run.results.length, 1);
  const metric = run.results[0]!.figures[0]!.metric;
  t.match(textReport(run), metric);
  t.match(markdownReport(run), `| protocol | ${metric} |`);
  t.same(JSON.parse(JSON.stringify(run)), run, 'plain JSON');
});

t.test('benchmarks are chosen by name, in registry order; an unknown name is refused', async (t) => {
  t.same(selectBenchmarks([]).map((b) => b.name), ['ed25519', 'protocol', 'ledger', 'collector', 'reconcile', 'serial', 'gateway', 'load']);
  t.same(selectBenchmarks(['reconcile', 'ed25519']).map((b) => b.name), ['ed25519', 'reconcile']);
  t.throws(() => selectBenchmarks(['ledger', 'nope']), /unknown benchmark "nope"/);
});
