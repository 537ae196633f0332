// The system deployed as separate processes, as a utility would run it: ledger, collector and air-gap
// controller each a `meterseal` process; a simulated meter on a real pty pair; an agent process reading it.
// Threat-model rows: T-I1 (edited at rest), T-N1 (bit flipped: bad signature), T-N5 (not whitelisted),
// T-I4 (air gap closed outside a window).
import t from 'tap';
import { connect } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { createPtyPair, socatAvailable } from '@meterseal/simulator';
import { tamperStoredReadings } from '@meterseal/collector-system';
import { LedgerTopics, responseTopic } from '@meterseal/protocol';
import { freePort, meterseal, waitUntil, type Proc } from './harness.js';

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

const count = (db: string, sql: string): number => {
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return Number((d.prepare(sql).get() as { n: number | bigint }).n);
  } finally {
    d.close();
  }
};

t.test('separate processes over a real pty and real brokers: anchored, collected, tampering located', async (t) => {
  if (!(await socatAvailable())) {
    t.plan(0, 'socat is not installed (apt-get install socat): this test needs real pty pairs');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-sys-deploy-'));
  const [ledgerMqtt, ledgerHttp, collectorMqtt, control, relay] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const L = join(dir, 'ledger');
  const C = join(dir, 'collector');
  mkdirSync(L, { recursive: true });
  writeFileSync(join(L, 'whitelist.json'), JSON.stringify({ meters: [{ meterId: 'M-1', customerAccount: 'ACC-1' }] }));
  const procs: Proc[] = [];
  const pair = await createPtyPair();
  t.teardown(async () => {
    for (const p of procs.reverse()) await p.stop('SIGKILL');
    await pair.close();
  });
  const start = (args: string[]): Proc => {
    const p = meterseal(args);
    procs.push(p);
    return p;
  };

  const ledger = start(['ledger', '--data-dir', L, '--mqtt-port', String(ledgerMqtt), '--http-port', String(ledgerHttp)]);
  await ledger.waitFor('ledger ready');
  const collector = start(['collector', '--data-dir', C, '--mqtt-port', String(collectorMqtt), '--ledger-key-dir', L]);
  await collector.waitFor('collector running');
  const airgap = start(['airgap', '--data-dir', join(dir, 'airgap'), '--target', `127.0.0.1:${ledgerHttp}`, '--control-port', String(control), '--relay-port', String(relay)]);
  await airgap.waitFor('ready');
  t.ok(await refused(relay), 'T-I4: the air-gap relay port refuses connections outside a window');

  const sim = start(['sim', '--port', pair.a, '--seed', '7']);
  await sim.waitFor('sim running');
  const agentDir = join(dir, 'agent-M-1');
  const agent = start(['agent', '--data-dir', agentDir, '--meter-id', 'M-1', '--account', 'ACC-1', '--serial', pair.b, '--interval', '250',
    '--ledger', `mqtt://127.0.0.1:${ledgerMqtt}`, '--collector', `mqtt://127.0.0.1:${collectorMqtt}`]);
  await agent.waitFor('enrolled; taking readings');

  const intruder = start(['agent', '--data-dir', join(dir, 'agent-X'), '--meter-id', 'M-999', '--account', 'ACC-1', '--serial', '/dev/null-not-used',
    '--ledger', `mqtt://127.0.0.1:${ledgerMqtt}`, '--collector', `mqtt://127.0.0.1:${collectorMqtt}`]);
  const refusal = await intruder.waitFor('enrolment failed').catch((e: Error) => ({ code: `none: ${e.message}` }));
  t.equal(refusal.code, 'NOT_WHITELISTED', 'T-N5: a meter not on the whitelist is refused at registration');
  await intruder.stop('SIGKILL');

  const outbox = join(agentDir, 'agent.sqlite');
  await waitUntil('the agent has taken 8 readings', () => count(outbox, 'SELECT count(*) AS n FROM readings') >= 8);

  // T-N1: a bit flipped in transit on interface 1 — take a real signed anchor and corrupt its reading hash
  const db = new Database(outbox, { readonly: true });
  const row = db.prepare('SELECT seq, anchor FROM readings ORDER BY seq DESC LIMIT 1').get() as { seq: bigint | number; anchor: Buffer };
  db.close();
  const forged = Buffer.from(row.anchor);
  forged[forged.length - 64 - 1]! ^= 0x01; // last byte of the reading hash, just before the signature
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${ledgerMqtt}`);
  t.teardown(() => client.endAsync(true));
  const answer = new Promise<{ ok: boolean; error?: { code: string }; op: string }>((resolve) => {
    client.on('message', (_topic, payload) => {
      const body = JSON.parse(payload.toString()) as { ok: boolean; error?: { code: string }; op: string; ref: string };
      if (body.op === 'anchor' && body.ref === String(row.seq) && !body.ok) resolve(body);
    });
  });
  await client.subscribeAsync(responseTopic('M-1'), { qos: 1 });
  await client.publishAsync(LedgerTopics.anchor('M-1'), forged, { qos: 1 });
  const rejected = await answer;
  t.equal(rejected.error?.code, 'BAD_SIGNATURE', 'T-N1: an anchor whose bytes changed in transit is rejected by the ledger');
  const stats = (await (await fetch(`http://127.0.0.1:${ledgerHttp}/v1/stats`)).json()) as { rejected: Record<string, number> };
  t.ok((stats.rejected.BAD_SIGNATURE ?? 0) >= 1, 'and counted by reason');

  // stop the meter: the agent's reads fail, nothing new is taken, and the queue drains on both interfaces
  await sim.stop('SIGKILL');
  const collectorDb = join(C, 'collector.sqlite');
  let taken = 0;
  await waitUntil('everything taken is anchored and collected', async () => {
    taken = count(outbox, 'SELECT count(*) AS n FROM readings');
    const acked = count(outbox, 'SELECT count(*) AS n FROM readings WHERE ledger_leaf IS NOT NULL AND collector_acked_at IS NOT NULL');
    return acked === taken;
  }, 30_000);
  const ledgerStats = (await (await fetch(`http://127.0.0.1:${ledgerHttp}/v1/stats`)).json()) as { anchored: number };
  t.equal(ledgerStats.anchored, taken, 'every reading taken is anchored in the ledger');
  t.equal(count(collectorDb, 'SELECT count(*) AS n FROM readings'), taken, 'every reading taken is collected');

  const edited = tamperStoredReadings(collectorDb, 2); // T-I1: an insider edits two stored values
  const rec = meterseal(['collector', 'reconcile', '--data-dir', C, '--ledger-key-dir', L, '--airgap', `127.0.0.1:${control}`, '--reason', 'system test', '--json']);
  const code = await rec.exited;
  t.equal(code, 2, `reconcile exits 2 when it finds divergences (stderr: ${rec.lines.slice(-3).join(' | ')})`);
  const report = JSON.parse(rec.stdout()) as { counts: Record<string, number>; items: { meterId: string; seq: string; outcome: string }[] };
  t.same(report.counts, { ...report.counts, matched: taken - 2, tampered: 2, missing: 0, unanchored: 0 });
  t.same(
    report.items.filter((i) => i.outcome === 'tampered').map((i) => `${i.meterId}#${i.seq}`).sort(),
    edited.map((e) => `${e.meterId}#${e.seq}`).sort(),
    'the tampered readings are located by meter and sequence',
  );
  t.ok(await refused(relay), 'the relay refuses again once the reconciliation is over');
  const audit = readFileSync(join(dir, 'airgap', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string; reason: string });
  t.same(audit.map((a) => a.event), ['open', 'close'], 'one window, opened and closed, audited');
  t.equal(audit[0]!.reason, 'system test');
});
