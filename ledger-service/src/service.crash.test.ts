// kill -9 of a ledger under load: every anchor it acknowledged is in the log after the restart, the tree
// recomputed from the entries alone has the stored nodes and the signed checkpoint's root, and the log
// carries on. The ledger runs in a real child process; the meters are real MQTT clients in this one.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import {
  LedgerTopics, MemoryTree, bytesEqual, fromHex, leafHash, openCheckpoint, openInclusionPromise, parseVerifierKey, rootAt, type KeyPair,
} from '@meterseal/protocol';
import { readFileSync } from 'node:fs';
import { DB_FILE } from './core.js';
import { PUB_FILE, VKEY_FILE } from './keys.js';
import { openSqliteStore } from './sqlite-store.js';
import { FakeMeter } from './testing/fake-meter.js';
import { startTestLedger, tempDir, writeWhitelist } from './testing/harness.js';

const fixture = fileURLToPath(new URL('./testing/crash-child.ts', import.meta.url));
const METERS = Array.from({ length: 4 }, (_, i) => ({ meterId: `CRASH-${i}`, customerAccount: `A-${i}` }));
const PER_METER = 300;
const KILL_AFTER = 500;
const WINDOW = 32;

interface Ack {
  meterId: string;
  seq: bigint;
  leafIndex: bigint;
  signed: Uint8Array;
  /** The inclusion promise the answer carried (hex). */
  promise: string;
}

t.test('kill -9 under load loses no acknowledged anchor, and the log restarts consistent', async (t) => {
  const dataDir = tempDir(t);
  writeWhitelist(dataDir, METERS);
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  t.teardown(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
  const { mqttUrl } = JSON.parse(
    await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => (out += chunk).includes('\n') && resolve(out.slice(0, out.indexOf('\n'))));
      child.once('exit', (code) => reject(new Error(`the ledger child exited early (${String(code)})`)));
    }),
  ) as { mqttUrl: string };

  const meters: FakeMeter[] = [];
  const sessions: KeyPair[] = [];
  for (const id of METERS) {
    const m = await FakeMeter.connect({ url: mqttUrl, ...id });
    m.client.on('error', () => undefined); // the broker dies with the ledger
    await m.onboard(1n);
    meters.push(m);
    sessions.push(m.session!.keys);
  }

  // Every meter keeps WINDOW anchors in flight; after KILL_AFTER acknowledgements the ledger is killed.
  const acks: Ack[] = [];
  const sentBytes = new Map<string, Uint8Array>();
  let killed = false;
  for (const m of meters) {
    let next = 1n;
    let answered = 0n;
    const pump = (): void => {
      while (!killed && next <= BigInt(PER_METER) && next - 1n - answered < BigInt(WINDOW)) {
        const signed = m.signedAnchor(next, new Uint8Array(32).fill(Number(next % 256n)));
        sentBytes.set(`${m.meterId}/${next}`, signed);
        m.client.publish(LedgerTopics.anchor(m.meterId), Buffer.from(signed), { qos: 1 });
        next++;
      }
    };
    m.client.removeAllListeners('message');
    m.client.on('message', (_topic, payload) => {
      const b = JSON.parse(payload.toString('utf8')) as { ok: boolean; ref: string; leafIndex?: string; duplicate?: boolean; promise?: string };
      if (!b.ok || b.duplicate) throw new Error(`unexpected answer ${payload.toString('utf8')}`);
      answered++;
      acks.push({ meterId: m.meterId, seq: BigInt(b.ref), leafIndex: BigInt(b.leafIndex!), signed: sentBytes.get(`${m.meterId}/${b.ref}`)!, promise: b.promise! });
      if (acks.length >= KILL_AFTER && !killed) {
        killed = true;
        child.kill('SIGKILL'); // mid-stream: groups are being verified and committed right now
      }
      pump();
    });
    pump();
  }
  t.equal(await exited, 'SIGKILL', 'the ledger was killed');
  for (const m of meters) m.client.end(true);
  t.ok(acks.length >= KILL_AFTER, `${acks.length} anchors acknowledged before the kill`);

  const store = openSqliteStore(join(dataDir, DB_FILE));
  const size = store.treeSize();
  for (const a of acks) {
    const row = store.getAnchor(a.meterId, a.seq);
    if (row?.leafIndex !== a.leafIndex || !bytesEqual(store.getEntry(a.leafIndex)!, a.signed)) t.fail(`acknowledged ${a.meterId} seq ${a.seq} at leaf ${a.leafIndex} is not in the log`);
  }
  t.pass(`all ${acks.length} acknowledged anchors are in the log of ${size} entries`);
  // Every answer carried an inclusion promise, signed by the ledger, for the leaf that is durable in the log:
  // promises are given only after the group commit (docs/protocol.md §10.4).
  const ledgerPub = fromHex(readFileSync(join(dataDir, PUB_FILE), 'utf8').trim(), 32);
  const badPromises = acks.filter((a) => {
    try {
      return openInclusionPromise(fromHex(a.promise), ledgerPub, a.signed).leafIndex !== a.leafIndex;
    } catch {
      return true;
    }
  });
  t.equal(badPromises.length, 0, `every one of the ${acks.length} promises verifies and names the durable leaf`);
  const ref = new MemoryTree();
  const entries = store.getEntries(0n, Number(size));
  for (const e of entries) ref.append(leafHash(e));
  const sent = [...sentBytes.values()];
  t.equal(entries.slice(METERS.length * 3).filter((e) => !sent.some((s) => bytesEqual(s, e))).length, 0, 'every other entry is an anchor that was sent');
  t.same(rootAt(store, size), ref.root(), 'the root from the stored nodes is the root recomputed from the entries');
  const level8 = Number(size >> 8n);
  t.same(store.getNodes(8, 0n, level8), Array.from({ length: level8 }, (_, i) => ref.getNode(8, BigInt(i))), 'every stored level-8 node');
  const cp = openCheckpoint(store.getCheckpoint()!.note, parseVerifierKey(readFileSync(join(dataDir, VKEY_FILE), 'utf8').trim()));
  t.ok(cp.size > 20n && cp.size <= size, `the last checkpoint (size ${cp.size}) was signed during the load`);
  t.same(cp.root, ref.root(cp.size), 'and its root is the recomputed tree at its size');
  store.close();

  const restarted = await startTestLedger(t, { dataDir });
  const m = await restarted.meter({ ...METERS[0]!, identity: meters[0]!.identity });
  m.session = { keys: sessions[0]!, keyId: meters[0]!.session!.keyId, firstSeq: 1n };
  const after = await m.anchor(BigInt(PER_METER + 1));
  t.match(after.response, { ok: true, leafIndex: String(size) }, 'the log carries on where it stopped');
  t.equal(restarted.ledger.stats().treeSize, Number(size) + 1);
});
