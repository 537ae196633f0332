// Witness cosignatures end to end: a real witness in-process, a ledger configured with it, anchors
// appended by a real meter client; GET /checkpoint then carries the witness's cosignature line beside the
// ledger's own signature, and both verify.
import t from 'tap';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { countWitnesses, openCheckpoint, parseCosignatureVerifierKey, parseNote, parseVerifierKey, verifyCosignature } from '@meterseal/protocol';
import { startWitness } from '@meterseal/witness';
import { KEY_FILE, SALT_FILE, loadOrCreateKeys } from './keys.js';
import { startTestLedger, tempDir } from './testing/harness.js';
import { isRefusal } from './witness-attach.js';

const M1 = { meterId: 'M-1', customerAccount: 'A-1' };
const ORIGIN = 'meterseal.test/ledger';

/** Polls the ledger's checkpoint until it is at least `size` and carries `lines` signature lines. */
async function cosignedCheckpoint(url: string, size: bigint, lines: number): Promise<string> {
  for (;;) {
    const text = await (await fetch(`${url}/checkpoint`)).text();
    const note = parseNote(text);
    if (BigInt(note.text.split('\n')[1]!) >= size && note.signatures.length >= lines) return text;
    await sleep(20);
  }
}

t.test('the ledger submits its checkpoints to a witness and serves them cosigned', async (t) => {
  const dataDir = tempDir(t);
  const ledgerVkey = loadOrCreateKeys(dataDir, ORIGIN).verifierKey; // the ledger's key exists before it starts
  const witness = await startWitness(
    { dataDir: tempDir(t, 'meterseal-witness-'), name: 'witness.test/w1', http: { port: 0 }, logs: [{ origin: ORIGIN, verifierKey: ledgerVkey }] },
    { log: pino({ level: 'silent' }) },
  );
  t.teardown(() => witness.close());
  const { ledger, meter } = await startTestLedger(t, {
    dataDir,
    meters: [M1],
    config: { origin: ORIGIN, checkpointIntervalMs: 20, witnesses: [{ url: witness.url, verifierKey: witness.verifierKey }] },
  });
  t.equal(ledger.verifierKey, ledgerVkey);

  const m = await meter(M1);
  await m.onboard(1n);
  for (let s = 1n; s <= 3n; s++) t.match((await m.anchor(s)).response, { ok: true });
  const size = BigInt(ledger.stats().treeSize);

  const text = await cosignedCheckpoint(ledger.httpUrl, size, 2);
  const cp = openCheckpoint(text, parseVerifierKey(ledger.verifierKey), ledger.origin);
  t.ok(cp.size >= size, 'the ledger signature is still found among several lines');
  const w = parseCosignatureVerifierKey(witness.verifierKey);
  t.equal(countWitnesses(text, [w]), 1, 'one witness cosigned it');
  t.ok(verifyCosignature(text, w).timestamp > 0n);
  t.match(text, /\n\n\u2014 meterseal\.test\/ledger \S+\n\u2014 witness\.test\/w1 \S+\n$/, 'the ledger line, then the witness line');
  t.equal(witness.latest(ORIGIN)?.size, cp.size, 'the witness remembers the cosigned size');

  // /v1/anchors serves the same cosigned checkpoint (nothing was appended since)
  const body = (await (await fetch(`${ledger.httpUrl}/v1/anchors?meter=M-1&from=0&to=10`)).json()) as { checkpoint: string; treeSize: string };
  t.equal(body.treeSize, cp.size.toString());
  t.equal(body.checkpoint, text);
  t.equal(openCheckpoint(body.checkpoint, parseVerifierKey(ledger.verifierKey), ledger.origin).size, cp.size);

  // The tree grows: the next checkpoint is cosigned too, through a consistency proof.
  t.match((await m.anchor(4n)).response, { ok: true });
  const grown = await cosignedCheckpoint(ledger.httpUrl, cp.size + 1n, 2);
  t.equal(countWitnesses(grown, [w]), 1);
  t.equal(openCheckpoint(grown, parseVerifierKey(ledger.verifierKey)).size, cp.size + 1n);
  t.match(ledger.stats().witnesses, { refused: 0 });
  t.ok(ledger.stats().witnesses.cosigned >= 2);
});

t.test('a forked history (same ledger key, other entries) is refused by the witness: an alarm, not attached', async (t) => {
  const dirA = tempDir(t);
  const ledgerVkey = loadOrCreateKeys(dirA, ORIGIN).verifierKey;
  const witness = await startWitness(
    { dataDir: tempDir(t, 'meterseal-witness-'), name: 'witness.test/w1', http: { port: 0 }, logs: [{ origin: ORIGIN, verifierKey: ledgerVkey }] },
    { log: pino({ level: 'silent' }) },
  );
  t.teardown(() => witness.close());
  const witnesses = [{ url: witness.url, verifierKey: witness.verifierKey }];
  const a = await startTestLedger(t, { dataDir: dirA, meters: [M1], config: { origin: ORIGIN, checkpointIntervalMs: 20, witnesses } });
  const ma = await a.meter(M1);
  await ma.onboard(1n);
  t.match((await ma.anchor(1n)).response, { ok: true });
  await cosignedCheckpoint(a.ledger.httpUrl, BigInt(a.ledger.stats().treeSize), 2);
  await a.ledger.close();

  // The same key over another history, longer than what the witness cosigned.
  const dirB = tempDir(t);
  for (const f of [KEY_FILE, SALT_FILE]) copyFileSync(join(dirA, f), join(dirB, f));
  const errors: string[] = [];
  const log = pino({ level: 'error' }, { write: (line: string) => void errors.push(line) });
  const b = await startTestLedger(t, { dataDir: dirB, meters: [M1], log, config: { origin: ORIGIN, checkpointIntervalMs: 20, witnesses } });
  const mb = await b.meter(M1);
  await mb.onboard(1n);
  for (let s = 1n; s <= 4n; s++) t.match((await mb.anchor(s)).response, { ok: true });
  // B's first checkpoints may be smaller than what the witness cosigned (WITNESS_AHEAD); once larger, 422 BAD_PROOF.
  while (witness.evidence(ORIGIN).length === 0 || b.ledger.stats().witnesses.refused === 0) await sleep(20);
  const counts = b.ledger.stats().witnesses;
  t.ok(counts.refused >= 1, `refused (once per checkpoint size B made while growing): ${counts.refused}`);
  t.equal(counts.cosigned, 0, 'never cosigned');
  t.ok(errors.some((l) => /witness refused/.test(l) && l.includes(witness.url)), 'logged at error, naming the witness');
  const text = await (await fetch(`${b.ledger.httpUrl}/checkpoint`)).text();
  t.equal(parseNote(text).signatures.length, 1, 'no cosignature is attached');
  t.equal(countWitnesses(text, [parseCosignatureVerifierKey(witness.verifierKey)]), 0);
});

t.test('config: witnesses are validated', async (t) => {
  const { parseLedgerConfig } = await import('./config.js');
  t.same(parseLedgerConfig({ dataDir: '/d' }).witnesses, []);
  t.throws(() => parseLedgerConfig({ dataDir: '/d', witnesses: [{ url: 'http://127.0.0.1:1', verifierKey: 'nope' }] }), { code: 'CONFIG_INVALID', message: /witnesses\.0\.verifierKey/ });
  t.throws(() => parseLedgerConfig({ dataDir: '/d', witnesses: [{ url: 'ftp://x', verifierKey: 'a+00000000+AA==' }] }), { code: 'CONFIG_INVALID', message: /witnesses\.0\.url/ });
  t.throws(() => parseLedgerConfig({ dataDir: '/d', witnesses: [{ url: 'http://x', verifierKey: 'a', extra: 1 }] }), { code: 'CONFIG_INVALID' });
});

t.test('refusals are told apart from failures', async (t) => {
  t.ok(isRefusal({ code: 'WITNESS_REFUSED', message: 'add-checkpoint: HTTP 422: BAD_PROOF' }));
  t.ok(isRefusal({ code: 'WITNESS_REFUSED', message: 'add-checkpoint: HTTP 409: ROOT_MISMATCH' }));
  t.ok(isRefusal({ code: 'WITNESS_AHEAD', message: 'the witness has cosigned size 9' }));
  t.notOk(isRefusal({ code: 'WITNESS_REFUSED', message: 'add-checkpoint: HTTP 503: busy' }));
  t.notOk(isRefusal({ code: 'FEED_FAILED', message: 'POST …: ECONNREFUSED' }));
});
