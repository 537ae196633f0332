// Issue 5 item 6: session keys on a node-cron schedule. A real ledger (embedded broker, SQLite), a simulated
// meter on a real pty pair and an agent whose config rotates its session key every second. Every reading is
// anchored under the session key whose binding covers its seq, across rotations, and the key history is
// queryable at GET /v1/meters/:id/keys; the agent alarms on a binding it did not make.
import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { fromHex, generateKeyPair, keyId, publicKeyFromSecret, toHex } from '@meterseal/protocol';
import { startAgent } from '@meterseal/device';
import { startLedger } from '@meterseal/ledger-service';
import { createPtyPair, socatAvailable, startSimulator } from '@meterseal/simulator';
import { freePort, waitUntil } from './harness.js';

interface Keys { identity: { keyId: string }; sessions: { keyId: string; firstSeq: string; untilSeq?: string }[] }

t.test('scheduled session-key rotation: readings stay valid by seq; key history queryable', async (t) => {
  if (!(await socatAvailable())) {
    t.plan(0, 'socat is not installed: this test needs a real pty pair');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-sys-rotate-'));
  const L = join(dir, 'ledger');
  mkdirSync(L);
  writeFileSync(join(L, 'whitelist.json'), JSON.stringify({ meters: [{ meterId: 'M-1', customerAccount: 'ACC-1' }] }));
  const log = pino({ level: 'silent' });
  const ledger = await startLedger({ dataDir: L, mqtt: { port: 0 }, http: { port: 0 } }, { log });
  t.teardown(() => ledger.close());
  const pair = await createPtyPair();
  t.teardown(() => pair.close());
  const sim = await startSimulator({ path: pair.a, seed: 5 }, { log });
  t.teardown(() => sim.close());
  const agent = await startAgent({
    dataDir: join(dir, 'agent'), meterId: 'M-1', customerAccount: 'ACC-1', serial: { path: pair.b }, intervalMs: 3_600_000,
    ledger: { url: ledger.mqttUrl }, collector: { url: `mqtt://127.0.0.1:${await freePort()}` },
    sessionKeySchedule: '* * * * * *', // every second (node-cron's optional seconds field)
  }, { log });
  t.teardown(() => agent.close());
  await agent.enrolled;

  const keys = async (): Promise<Keys> => (await (await fetch(`${ledger.httpUrl}/v1/meters/M-1/keys`)).json()) as Keys;
  const seqs: bigint[] = [];
  await waitUntil('three scheduled rotations, with readings between them', async () => {
    seqs.push(await agent.readNow());
    return (await keys()).sessions.length >= 4;
  }, 60_000, 300);
  seqs.push(await agent.readNow());
  await waitUntil('every reading is anchored', () => agent.stats().outbox.ledgerAcked === seqs.length, 60_000);

  const history = await keys();
  t.ok(history.sessions.length >= 4, `${history.sessions.length} session keys bound: the first and at least three rotations`);
  for (let i = 1; i < history.sessions.length; i++) {
    t.ok(BigInt(history.sessions[i]!.firstSeq) >= BigInt(history.sessions[i - 1]!.firstSeq), 'each binding names the next seq');
    t.equal(history.sessions[i - 1]!.untilSeq, history.sessions[i]!.firstSeq);
  }
  const anchors = (await (await fetch(`${ledger.httpUrl}/v1/anchors?meter=M-1&from=0&to=1000`)).json()) as { anchors: { seq: string; keyId: string }[] };
  t.equal(anchors.anchors.length, seqs.length, 'no reading refused across rotations');
  for (const a of anchors.anchors) {
    const cover = history.sessions.find((s) => BigInt(s.firstSeq) <= BigInt(a.seq) && (s.untilSeq === undefined || BigInt(a.seq) < BigInt(s.untilSeq)));
    t.equal(a.keyId, cover?.keyId, `seq ${a.seq} is signed by the key whose binding covers it`);
  }
  t.ok(new Set(anchors.anchors.map((a) => a.keyId)).size >= 2, 'readings were signed by more than one session key');
  t.same(agent.foreignBindings(), [], 'every binding on the ledger is one the agent made');

  // a cloned board: someone with the identity key binds a session key of their own; the agent's next
  // rotation sees it in the ledger's list and raises the alarm
  const { FakeMeter } = await import('@meterseal/ledger-service/testing/fake-meter');
  const secretKey = fromHex(readFileSync(join(dir, 'agent', 'identity.key'), 'utf8').trim(), 32);
  const clone = await FakeMeter.connect({ url: ledger.mqttUrl, meterId: 'M-1', customerAccount: 'ACC-1', identity: { secretKey, publicKey: publicKeyFromSecret(secretKey) } });
  t.teardown(() => clone.close());
  t.match(await clone.authenticate(), { ok: true });
  const cloneSession = generateKeyPair();
  t.match(await clone.bind(BigInt(seqs.length + 1), cloneSession), { ok: true });
  await agent.rotateSessionKey();
  t.same(agent.foreignBindings(), [toHex(keyId(cloneSession.publicKey))], 'the agent alarms on the binding it did not make');
  t.equal((await fetch(`${ledger.httpUrl}/v1/meters/NOPE/keys`)).status, 404);
  t.equal((await fetch(`${ledger.httpUrl}/v1/meters/${encodeURIComponent('bad id')}/keys`)).status, 400);
});
