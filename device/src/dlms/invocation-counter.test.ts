// The file-backed HLS invocation counter: persisted before use, continues after a restart, refuses to guess.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileInvocationCounter } from './invocation-counter.js';

t.test('FileInvocationCounter: starts at the initial value, persists each value as used, survives restarts', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ic-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'counter');
  const a = new FileInvocationCounter(file, 5n);
  t.equal(a.peek(), 5n);
  t.same([a.next(), a.next()], [5n, 6n]);
  t.equal(readFileSync(file, 'utf8'), '7\n', 'the next unused value is on disk');
  t.equal(statSync(file).mode & 0o777, 0o600);
  t.equal(new FileInvocationCounter(file).next(), 7n, 'a new instance continues');
  t.equal(new FileInvocationCounter(file, 100n).next(), 100n, 'a higher configured start wins (device replaced)');
  t.equal(new FileInvocationCounter(file, 3n).next(), 101n, 'a lower one never rewinds');
});

t.test('FileInvocationCounter: a corrupt file or an exhausted counter is an error, never a guess', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ic-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'counter');
  writeFileSync(file, 'twelve\n');
  t.throws(() => new FileInvocationCounter(file).next(), { code: 'STATE' });
  writeFileSync(file, '4294967296\n');
  t.throws(() => new FileInvocationCounter(file).next(), { code: 'LIMIT' });
});
