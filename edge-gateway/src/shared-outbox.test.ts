// The gateway's shared outbox: group commits across meters (one transaction for the readings of a window, each
// acknowledged only once committed), per-(meter, seq) numbering that survives restarts and failed builds,
// batched interface acknowledgements, and the migration of first-layout per-meter outboxes. Real SQLite files.
import t from 'tap';
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Outbox } from '@meterseal/device';
import { SharedOutbox } from './shared-outbox.js';
import { migrateMeterOutbox } from './migrate.js';

const payloads = (tag: number) => (seq: bigint) => ({ anchor: new Uint8Array([1, tag, Number(seq)]), delivery: new Uint8Array([2, tag, Number(seq)]) });
const tmp = (): string => join(mkdtempSync(join(tmpdir(), 'shared-outbox-')), 'outbox.sqlite');
/** What another connection (another process after a crash) finds on disk. */
const onDisk = (path: string): { meter_id: string; seq: bigint }[] => {
  const db = new Database(path, { readonly: true });
  db.defaultSafeIntegers(true);
  const rows = db.prepare(`SELECT meter_id, seq FROM readings ORDER BY meter_id, seq`).all() as { meter_id: string; seq: bigint }[];
  db.close();
  return rows;
};

t.test('readings of several meters within the window: one transaction, each acknowledged only after it', async (t) => {
  const path = tmp();
  const box = new SharedOutbox(path, { commitWindowMs: 50 });
  t.teardown(() => box.close());
  const waits = ['A', 'B', 'C'].flatMap((m, i) => [box.enqueue(m, payloads(i)), box.enqueue(m, payloads(i))]);
  let settled = 0;
  for (const w of waits) void w.then(() => settled++);
  await Promise.resolve();
  t.equal(settled, 0, 'nothing is acknowledged before its commit');
  t.same(onDisk(path), [], 'nothing is on disk before the commit');
  const seqs = await Promise.all(waits);
  t.same(seqs, [1n, 2n, 1n, 2n, 1n, 2n], 'seqs are per meter');
  t.same(onDisk(path).length, 6, 'all six are on disk once acknowledged');
  t.same(box.commits, { count: 1, items: 6, ackCommits: 0, acks: 0 }, 'one group commit carried all six');
});

t.test('commitMaxItems waiting: committed at once, not after the window', async (t) => {
  const path = tmp();
  const box = new SharedOutbox(path, { commitWindowMs: 60_000, commitMaxItems: 3 });
  t.teardown(() => box.close());
  const waits = [box.enqueue('A', payloads(1)), box.enqueue('B', payloads(1))];
  t.equal(box.commits.count, 0);
  waits.push(box.enqueue('A', payloads(1)));
  t.equal(box.commits.count, 1, 'the third write triggered the commit synchronously');
  t.same(await Promise.all(waits), [1n, 1n, 2n]);
});

t.test('a failed build rejects only itself and burns no number; the others of its commit are stored', async (t) => {
  const path = tmp();
  const box = new SharedOutbox(path, { commitWindowMs: 10 });
  t.teardown(() => box.close());
  const ok1 = box.enqueue('A', payloads(1));
  const bad = box.enqueue('A', () => { throw new Error('sign failed'); });
  const ok2 = box.enqueue('A', payloads(1));
  await t.rejects(bad, /sign failed/);
  t.same(await Promise.all([ok1, ok2]), [1n, 2n], 'the failed one took no seq');
  t.equal(box.nextSeq('A'), 3n);
  t.same(onDisk(path).map((r) => r.seq), [1n, 2n]);
});

t.test('a gap spanning seqs, restarts, and per-interface acknowledgements batched but kept', async (t) => {
  const path = tmp();
  let box = new SharedOutbox(path, { commitWindowMs: 0 });
  t.equal(await box.enqueue('A', payloads(1)), 1n);
  t.equal(await box.enqueue('A', payloads(9), 5n), 2n, 'a gap of 5 seqs starts at 2');
  t.equal(await box.enqueue('A', payloads(1)), 7n);
  t.equal(await box.enqueue('B', payloads(2)), 1n);
  box.ack('A', 'ledger', 1n, '40');
  box.ack('A', 'collector', 2n);
  t.same(box.pending('A', 'ledger', 10).map((x) => x.seq), [2n, 7n], 'an acknowledged item is not listed again');
  t.same(box.pending('A', 'collector', 10).map((x) => x.seq), [1n, 7n]);
  t.same(Array.from(box.pending('B', 'collector', 10)[0]!.payload), [2, 2, 1], 'interface 2 gets the delivery of its own meter');
  box.ack('B', 'ledger', 1n, '41');
  box.close();
  box = new SharedOutbox(path);
  t.teardown(() => box.close());
  t.equal(box.nextSeq('A'), 8n, 'the next number survives a restart');
  t.same(box.pendingCounts('A'), { ledger: 2, collector: 2 }, 'acknowledgements were kept');
  t.same(box.pendingCounts('B'), { ledger: 0, collector: 1 }, 'the acknowledgement waiting at close was committed by close');
  t.equal(box.prune(), 0, 'nothing is acknowledged on both interfaces yet');
  box.ack('A', 'collector', 1n);
  t.equal(box.prune(), 1, 'seq 1 of A went');
  box.ack('B', 'collector', 1n);
  t.equal(box.prune(), 0, "B's only (newest) row stays: it carries the meter's last write time");
  t.ok(box.lastWriteMs('B')! > 0);
  t.equal(box.lastWriteMs('C'), null);
});

t.test('a first-layout per-meter outbox is moved in: rows, acknowledgements, next seq, announcements; idempotent', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shared-outbox-migrate-'));
  const legacy = join(dir, 'legacy.sqlite');
  const old = new Outbox(legacy);
  old.enqueue(payloads(1));
  old.enqueue(payloads(1), 3n); // a gap taking seqs 2..4
  old.enqueue(payloads(1));
  old.ack('ledger', 1n, '7');
  old.ack('collector', 1n);
  old.ack('ledger', 5n, '8');
  old.addAnnouncement('aa', new Uint8Array([1]));
  old.close();
  const backup = join(dir, 'backup.sqlite');
  copyFileSync(legacy, backup);

  const box = new SharedOutbox(join(dir, 'outbox.sqlite'));
  t.teardown(() => box.close());
  t.equal(migrateMeterOutbox(box, 'M-1', legacy), 3, 'three rows copied');
  t.notOk(existsSync(legacy), 'the old file is renamed');
  t.ok(existsSync(`${legacy}.migrated`), '... and kept as *.migrated');
  t.equal(box.nextSeq('M-1'), 6n, 'the gap span is kept: the next seq is 6');
  t.same(box.pending('M-1', 'ledger', 10).map((x) => x.seq), [2n]);
  t.same(box.pending('M-1', 'collector', 10).map((x) => x.seq), [2n, 5n]);
  t.same(box.pendingAnnouncements('M-1').map((a) => a.keyIdHex), ['aa']);
  t.equal(migrateMeterOutbox(box, 'M-1', legacy), null, 'nothing left to migrate');
  t.equal(await box.enqueue('M-1', payloads(1)), 6n, 'numbering goes on after the migration');

  copyFileSync(backup, legacy); // a crash between the commit and the rename: the same file again
  t.equal(migrateMeterOutbox(box, 'M-1', legacy), 0, 'no row copied twice');
  t.equal(box.nextSeq('M-1'), 7n, 'the next seq never goes back');
  t.equal(onDisk(join(dir, 'outbox.sqlite')).length, 4);
});
