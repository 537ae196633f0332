#!/usr/bin/env node
// Runs only the *.fuzz.test.ts files (property-based fuzzing of every parser of outside bytes) with
// METERSEAL_FUZZ_RUNS=1000000 unless the environment already sets it. Extra arguments narrow the run:
//   npm run fuzz                                   # all fuzz files, 10^6 runs per property
//   METERSEAL_FUZZ_RUNS=20000 node scripts/fuzz.mjs protocol device
// Each property also has a wall-clock budget (METERSEAL_FUZZ_TIME_LIMIT_MS, default 10 min when runs are
// raised) so the long pass ends; tap's per-file timeout is lifted accordingly.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SKIP = new Set(['node_modules', '.git', '.tap', 'dist', 'coverage']);

function findFuzz(dir, out) {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) findFuzz(p, out);
    else if (name.endsWith('.fuzz.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const args = process.argv.slice(2);
const files = (args.length ? args : ['.'])
  .flatMap((r) => (r.endsWith('.ts') ? [r] : findFuzz(join(root, r), [])))
  .sort();
if (files.length === 0) {
  console.error('fuzz: no *.fuzz.test.ts found');
  process.exit(1);
}

const env = { ...process.env, METERSEAL_FUZZ_RUNS: process.env.METERSEAL_FUZZ_RUNS || '1000000' };
// one file may hold several properties, each bounded by the time budget
env.TAP_TIMEOUT = process.env.TAP_TIMEOUT || '0';
// every property appends {file, property, runs, interrupted, ms} here (fuzzParams in protocol/src/fuzz-runs.ts)
env.METERSEAL_FUZZ_REPORT = process.env.METERSEAL_FUZZ_REPORT || join(tmpdir(), `meterseal-fuzz-${process.pid}.jsonl`);
console.error(`fuzz: ${files.length} files, METERSEAL_FUZZ_RUNS=${env.METERSEAL_FUZZ_RUNS}, report ${env.METERSEAL_FUZZ_REPORT}`);
const started = Date.now();
const child = spawn(process.execPath, [join(root, 'scripts', 'run-tests.mjs'), ...files], { cwd: root, env, stdio: 'inherit' });
child.on('close', (code, signal) => {
  summary();
  process.exit(code ?? (signal ? 1 : 0));
});

/** Runs and time per property, per file: what the pass actually did (a time budget may cut a property short). */
function summary() {
  if (!existsSync(env.METERSEAL_FUZZ_REPORT)) return;
  const rows = readFileSync(env.METERSEAL_FUZZ_REPORT, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const lines = ['| fuzz file | properties | runs per property (min–max) | total runs | cut by time budget | seconds |', '| --- | --- | --- | --- | --- | --- |'];
  const byFile = new Map();
  for (const r of rows) byFile.set(r.file, [...(byFile.get(r.file) ?? []), r]);
  for (const [file, rs] of [...byFile].sort()) {
    const runs = rs.map((r) => r.runs);
    const cut = rs.filter((r) => r.interrupted).length;
    const ms = rs.reduce((s, r) => s + r.ms, 0);
    lines.push(`| ${file} | ${rs.length} | ${Math.min(...runs)}–${Math.max(...runs)} | ${runs.reduce((a, b) => a + b, 0)} | ${cut} | ${(ms / 1000).toFixed(1)} |`);
  }
  lines.push('', `${rows.length} properties, ${rows.reduce((a, r) => a + r.runs, 0)} runs, ${((Date.now() - started) / 1000).toFixed(0)} s wall clock, METERSEAL_FUZZ_RUNS=${env.METERSEAL_FUZZ_RUNS}`);
  console.error(`\n${lines.join('\n')}`);
}
