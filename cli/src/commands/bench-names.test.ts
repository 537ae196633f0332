// `meterseal bench --help` names the benchmarks without importing them (commands/bench.ts): the static list
// must stay the registry's, in its order.
import t from 'tap';
import { BENCHMARKS } from '../bench/index.js';
import { BENCH_NAMES } from './bench.js';

t.test('BENCH_NAMES is the benchmark registry, in order', async (t) => {
  t.same([...BENCH_NAMES], BENCHMARKS.map((b) => b.name));
});
