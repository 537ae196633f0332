// A regulator's witness as its own process: `meterseal witness` cosigns the ledger's checkpoints that
// `meterseal witness feed` brings it, and the cosignature verifies with the witness's published key (T-L1).
import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCosignatureVerifierKey, verifyCosignature } from '@meterseal/protocol';
import { freePort, meterseal, type Proc } from './harness.js';

t.test('meterseal witness + witness feed: the ledger checkpoint is cosigned, and again after it grows', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-sys-witness-'));
  const L = join(dir, 'ledger');
  mkdirSync(L, { recursive: true });
  writeFileSync(join(L, 'whitelist.json'), JSON.stringify({ meters: [] }));
  const [mqttPort, httpPort, witnessPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const procs: Proc[] = [];
  t.teardown(async () => {
    for (const p of procs) await p.stop('SIGKILL');
  });
  const ledger = meterseal(['ledger', '--data-dir', L, '--mqtt-port', String(mqttPort), '--http-port', String(httpPort)]);
  procs.push(ledger);
  await ledger.waitFor('ledger ready');
  const W = join(dir, 'witness');
  const witness = meterseal(['witness', '--data-dir', W, '--http-port', String(witnessPort), '--ledger-key-dir', L]);
  procs.push(witness);
  await witness.waitFor('witness ready');

  const feed = meterseal(['witness', 'feed', '--ledger', `http://127.0.0.1:${httpPort}`, '--witness', `http://127.0.0.1:${witnessPort}`]);
  t.equal(await feed.exited, 0, `feed exits 0 (${feed.lines.slice(-3).join(' | ')})`);
  const line = feed.stdout().split('\n').find((l) => l.startsWith('\u2014 '));
  t.ok(line, 'prints the cosignature line');
  const checkpoint = await (await fetch(`http://127.0.0.1:${httpPort}/checkpoint`)).text();
  const verifier = parseCosignatureVerifierKey(readFileSync(join(W, 'witness.vkey'), 'utf8').trim());
  const cosigned = `${checkpoint}${line}\n`;
  t.doesNotThrow(() => verifyCosignature(cosigned, verifier), 'the cosignature verifies over the ledger checkpoint');

  const again = meterseal(['witness', 'feed', '--ledger', `http://127.0.0.1:${httpPort}`, '--witness', `http://127.0.0.1:${witnessPort}`]);
  t.equal(await again.exited, 0, 'a second feed from a fresh feeder state recovers the witness size (409) and succeeds');
});
