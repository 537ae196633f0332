// A restart on the same data directory keeps the key, the tree and its root, and the meters' state.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCheckpoint, parseVerifierKey, verifyConsistency, fromHex } from '@meterseal/protocol';
import { startTestLedger, tempDir, writeWhitelist } from './testing/harness.js';

const M1 = { meterId: 'M-1', customerAccount: 'A-1' };

t.test('restart keeps the tree, key and root', async (t) => {
  const dataDir = tempDir(t);
  writeWhitelist(dataDir, [M1]);

  const first = await startTestLedger(t, { dataDir });
  const m = await first.meter(M1);
  await m.onboard(1n);
  const a1 = await m.anchor(1n);
  await m.anchor(2n);
  const note1 = await first.ledger.checkpointNow();
  const stats1 = first.ledger.stats();
  const key1 = readFileSync(join(dataDir, 'ledger.key'), 'utf8');
  await m.close();
  await first.ledger.close();

  const second = await startTestLedger(t, { dataDir });
  t.equal(second.ledger.verifierKey, first.ledger.verifierKey, 'same key');
  t.same(second.ledger.publicKey, first.ledger.publicKey);
  t.equal(readFileSync(join(dataDir, 'ledger.key'), 'utf8'), key1);
  t.equal(await second.ledger.checkpointNow(), note1, 'same size, same root, same signed checkpoint');
  t.match(second.ledger.stats(), { treeSize: stats1.treeSize, anchored: 2, registrations: 1, bindings: 1 });

  const m2 = await second.meter({ ...M1, identity: m.identity });
  t.match(await m2.register(), { ok: true }, 'the meter is still registered (same certificate)');
  const dup = await m2.anchor(1n, undefined, a1.signed);
  t.match(dup.response, { ok: true, duplicate: true, leafIndex: a1.response.leafIndex }, 'dedup survives the restart');
  m2.session = m.session;
  t.match((await m2.anchor(3n)).response, { ok: true, leafIndex: String(stats1.treeSize) }, 'the session key binding survives too');

  const vkey = parseVerifierKey(second.ledger.verifierKey);
  const cp1 = openCheckpoint(note1, vkey);
  const cp2 = openCheckpoint(await second.ledger.checkpointNow(), vkey);
  const r = (await (await fetch(`${second.ledger.httpUrl}/v1/proof/consistency?from=${cp1.size}&to=${cp2.size}`)).json()) as { proof: string[] };
  t.ok(verifyConsistency(cp1.size, cp2.size, r.proof.map((h) => fromHex(h, 32)), cp1.root, cp2.root), 'the log only grew');
});

t.test('a data directory is bound to its origin', async (t) => {
  const dataDir = tempDir(t);
  const first = await startTestLedger(t, { dataDir, meters: [M1] });
  await first.ledger.close();
  await t.rejects(startTestLedger(t, { dataDir, config: { origin: 'other.example/log' } }), { code: 'STORE_MISMATCH', message: /origin "meterseal.local\/ledger"/ });
  t.equal(readFileSync(join(dataDir, 'ledger.vkey'), 'utf8'), `${first.ledger.verifierKey}\n`, 'ledger.vkey is left as it was');
});
