import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Outbox } from './outbox.js';

const payloads = (seq: bigint) => ({ anchor: new Uint8Array([1, Number(seq)]), delivery: new Uint8Array([2, Number(seq)]) });

t.test('sequence numbers start at 1, increase, and never repeat after a restart', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'outbox-')), 'agent.sqlite');
  let box = new Outbox(path);
  t.equal(box.enqueue(payloads), 1n);
  t.equal(box.enqueue(payloads), 2n);
  box.close();
  box = new Outbox(path);
  t.equal(box.nextSeq(), 3n, 'the next number survives a restart');
  t.equal(box.enqueue(payloads), 3n);
  t.equal(box.counts().readings, 3);
  box.close();
});

t.test('a failed build allocates nothing: the number is not burned and no row is left', async (t) => {
  const box = new Outbox(join(mkdtempSync(join(tmpdir(), 'outbox-')), 'agent.sqlite'));
  t.throws(() => box.enqueue(() => { throw new Error('sign failed'); }));
  t.equal(box.nextSeq(), 1n);
  t.equal(box.counts().readings, 0);
  box.close();
});

t.test('each interface acknowledges independently; pending lists what that interface still owes', async (t) => {
  const box = new Outbox(join(mkdtempSync(join(tmpdir(), 'outbox-')), 'agent.sqlite'));
  for (let i = 0; i < 3; i++) box.enqueue(payloads);
  box.ack('ledger', 1n, '10');
  box.ack('collector', 2n);
  t.same(box.pending('ledger', 10).map((x) => x.seq), [2n, 3n]);
  t.same(box.pending('collector', 10).map((x) => x.seq), [1n, 3n]);
  t.same(Array.from(box.pending('ledger', 10)[0]!.payload), [1, 2], 'interface 1 gets the anchor payload');
  t.same(Array.from(box.pending('collector', 10)[0]!.payload), [2, 1], 'interface 2 gets the delivery payload');
  t.same(box.counts(), { readings: 3, ledgerAcked: 1, collectorAcked: 1 });
  box.close();
});

t.test('key announcements wait for the collector acknowledgement and are stored once', async (t) => {
  const box = new Outbox(join(mkdtempSync(join(tmpdir(), 'outbox-')), 'agent.sqlite'));
  box.addAnnouncement('aa', new Uint8Array([1]));
  box.addAnnouncement('aa', new Uint8Array([1]));
  t.equal(box.pendingAnnouncements().length, 1);
  box.ackAnnouncement('aa');
  t.equal(box.pendingAnnouncements().length, 0);
  box.close();
});

t.test('an acknowledgement is visible to another connection at once, and readings stay synchronous=FULL', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'outbox-')), 'agent.sqlite');
  const box = new Outbox(path);
  t.teardown(() => box.close());
  box.enqueue(payloads);
  box.ack('ledger', 1n, '5');
  const other = new Database(path, { readonly: true });
  t.teardown(() => other.close());
  t.same(other.prepare(`SELECT ledger_leaf FROM readings WHERE seq = 1`).get(), { ledger_leaf: '5' }, 'the ack is committed');
  t.equal(box.syncLevel(), 2, 'the connection is back at FULL for the next reading');
  box.ack('collector', 1n);
  t.same(box.counts(), { readings: 1, ledgerAcked: 1, collectorAcked: 1 });
  t.equal(box.syncLevel(), 2);
});
