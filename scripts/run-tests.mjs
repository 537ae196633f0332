#!/usr/bin/env node
// Runs every *.test.ts in the workspaces with tap (through tsx), streams tap's output, and ends with
// the plain summary line "N passed, N failed" that CI reads. Extra arguments narrow the run:
//   node scripts/run-tests.mjs protocol device/src/outbox.test.ts
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SKIP = new Set(['node_modules', '.git', '.tap', 'dist', 'coverage']);

function findTests(dir, out) {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const args = process.argv.slice(2);
const roots = args.length ? args : ['.'];
const files = roots.flatMap((r) => (r.endsWith('.ts') ? [r] : findTests(join(root, r), []))).sort();
if (files.length === 0) {
  console.error(`run-tests: no *.test.ts found under ${roots.join(', ')}`);
  process.exit(1);
}

const tapBin = join(root, 'node_modules', 'tap', 'dist', 'esm', 'run.mjs');
const child = spawn(process.execPath, [tapBin, '--reporter=tap', ...files], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
});
let tail = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString('utf8')).slice(-4096);
});
child.on('close', (code, signal) => {
  // tap's closing line looks like: # { total: 12, pass: 11, fail: 1, skip: 0 }
  const m = /# \{ total: (\d+)(?:, pass: (\d+))?(?:, fail: (\d+))?(?:, todo: (\d+))?(?:, skip: (\d+))?/.exec(tail);
  const pass = m ? Number(m[2] ?? 0) : 0;
  const fail = m ? Number(m[3] ?? 0) : 0;
  const skip = m ? Number(m[5] ?? 0) : 0;
  const failed = code !== 0 ? Math.max(fail, 1) : fail;
  console.log(`\n${pass} passed, ${failed} failed${skip ? `, ${skip} skipped` : ''}`);
  process.exit(code ?? (signal ? 1 : 0));
});
