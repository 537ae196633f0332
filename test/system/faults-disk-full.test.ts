// Issue 8 item 3, disk full: the ledger's data directory is a small tmpfs (mounted by the test; needs root, as
// CI runs — skipped with a message otherwise). With agents anchoring through mosquitto, the file system is filled
// to the last byte. Asserted: the ledger refuses new anchors with a clear error instead of acknowledging them
// (no promise is given for an anchor that is not durable), nothing acknowledged before is lost, and once the
// space is freed every reading is anchored exactly once — without restarting anything.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectorRows, drainAll, ledgerLeaves, mosquittoAvailable, outboxState, seqRange, startStack } from './faults-harness.js';
import { waitUntil } from './harness.js';

const METERS = 2;
const root = process.getuid?.() === 0;
const skip = !root ? 'needs root to mount a small tmpfs (CI runs as root)' : mosquittoAvailable() ? false : 'no /usr/sbin/mosquitto';

/** Writes zeros until the file system refuses (ENOSPC), in ever smaller pieces down to one byte; returns the bytes written. */
function fill(file: string): number {
  const fd = openSync(file, 'w');
  let written = 0;
  try {
    for (const size of [1 << 20, 64 * 1024, 4096, 512, 1]) {
      const buf = Buffer.alloc(size);
      for (;;) {
        try {
          written += writeSync(fd, buf);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

function parseLine(l: string): Record<string, unknown> {
  try {
    return JSON.parse(l) as Record<string, unknown>;
  } catch {
    return {};
  }
}

t.test('the ledger on a full disk refuses anchors, loses nothing, recovers when space is freed', { timeout: 180_000, skip }, async (t) => {
  const mnt = mkdtempSync(join(tmpdir(), 'meterseal-diskfull-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m,mode=0700', 'tmpfs', mnt]);
  const unmount = (): void => {
    execFileSync('umount', ['-l', mnt]);
    rmSync(mnt, { recursive: true, force: true });
  };
  const ledgerDir = join(mnt, 'ledger');
  mkdirSync(ledgerDir);
  const s = await startStack('faults-disk', { meters: METERS, intervalMs: 100, ledgerDir }).catch((err: unknown) => {
    unmount();
    throw err;
  });
  t.teardown(async () => {
    await s.close();
    unmount();
  });
  const acked = (): number => s.agents.reduce((n, a) => n + a.stats().outbox.ledgerAcked, 0);
  await waitUntil('anchors flow', () => acked() >= 10, 60_000);

  const filler = join(mnt, 'filler');
  const bytes = fill(filler);
  t.comment(`filled the ledger's file system with ${bytes} bytes`);
  const before = s.agentDirs.map((d) => outboxState(d).ledgerAcked);
  // the readings keep coming; the ledger must stop acknowledging them
  const fullLine = (): Record<string, unknown> | undefined => s.ledger.lines.map(parseLine)
    .find((j) => j.level === 50 && j.op === 'anchor' && JSON.stringify(j.err ?? '').includes('database or disk is full'));
  await waitUntil('the ledger logs the full disk at level error, per refused anchor', () => fullLine() !== undefined, 60_000);
  const stalledAt = acked();
  await new Promise((r) => setTimeout(r, 2000));
  const refusals = s.agents.reduce((n, a) => n + Object.values(a.stats().ledger.rejected).reduce((x, y) => x + y, 0) + a.stats().ledger.errors, 0);
  t.ok(refusals > 0, `the agents were refused or timed out (${refusals}) rather than acknowledged`);
  t.match(fullLine(), { code: 'INTERNAL', err: { message: /database or disk is full/ } }, 'the refused anchor is logged with SQLite\'s "database or disk is full"');
  t.match(fullLine(), { reason: /^storage full: / }, 'the refusal sent to the agent names the full storage, not just "internal error"');
  t.ok(s.agents.every((a) => (a.stats().ledger.rejected.INTERNAL ?? 0) > 0), 'every agent got an explicit refusal (INTERNAL), not a promise');
  t.comment(`agent refusals: ${JSON.stringify(s.agents.map((a) => a.stats().ledger.rejected))}`);
  t.ok(acked() - stalledAt <= METERS * 32, 'no more than what was already in flight got acknowledged after the disk filled');
  t.not(s.ledger.child, null, 'the ledger process is still running');

  const leaves = ledgerLeaves(s.ledger.dir);
  for (const [j, a] of s.agents.entries()) {
    const got = new Set(leaves.get(a.meterId) ?? []);
    t.same(before[j]!.filter((seq) => !got.has(seq)), [], `${a.meterId}: every anchor acknowledged before the disk filled is in the log`);
  }

  rmSync(filler);
  t.comment(`freed ${bytes} bytes`);
  await waitUntil('anchors flow again', () => acked() >= stalledAt + 2 * METERS, 90_000);
  await drainAll(s.agents);
  const after = ledgerLeaves(s.ledger.dir);
  const { readings } = collectorRows(s.collector.dir);
  for (const [j, a] of s.agents.entries()) {
    const n = outboxState(s.agentDirs[j]!).seqs.length;
    t.same(after.get(a.meterId), seqRange(n), `${a.meterId}: all ${n} readings anchored once after recovery`);
    t.same(readings.get(a.meterId), seqRange(n), `${a.meterId}: all ${n} readings stored once`);
  }
});
