// kill -9 during the carry's preparation (period-prepare.ts): a real child process runs the ledger with hourly
// periods within the lead before the boundary and SIGKILLs itself right after the first preparation batch is
// staged (period-prepare-crash-child.ts). The half-prepared staging file is never trusted: deleted on start.
// Restarted after the boundary, the rotation carries exactly the key state (entry 0 and each carried entry
// once, the chain verifies); restarted still within the lead, the preparation begins again from nothing and the
// rotation after it is just as consistent. Killed at the boundary after the staged log got its real entry 0 but
// before it was renamed into place: the staged log is discarded on start and the carry is done whole.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { parseVerifierKey } from '@meterseal/protocol';
import { startTestLedger, tempDir } from './testing/harness.js';
import { assertTwoMeterChain, rotatingLedgerWithTwoMeters, runRotationChild } from './testing/rotation-crash.js';

const child = fileURLToPath(new URL('./period-prepare-crash-child.ts', import.meta.url));
const M1 = { meterId: 'PC-1', customerAccount: 'A-1' };
const M2 = { meterId: 'PC-2', customerAccount: 'A-2' };
const T12 = '2026-11-21T12';
const T13 = '2026-11-21T13';
const IN_LEAD = Date.UTC(2026, 10, 21, 12, 59, 0); // the default lead for hours is 2 min


for (const restart of ['after the boundary', 'within the lead', 'after a kill before the rename']) {
  t.test(`kill -9 mid-preparation, restarted ${restart}: the staging is discarded and the rotation is consistent`, async (t) => {
    const dataDir = tempDir(t);
    const { first, clock, config, m } = await rotatingLedgerWithTwoMeters(t, dataDir, M1, M2);
    await first.ledger.close();

    const r = await runRotationChild(child, dataDir, IN_LEAD, restart === 'after a kill before the rename' ? 'before-rename' : 'first-batch');
    t.equal(r.signal, 'SIGKILL', `the child was killed mid-preparation (${r.out.trim() || 'no output'})`);
    const staging = join(dataDir, 'periods', `${T12}.carry.sqlite`);
    if (restart === 'after a kill before the rename') {
      t.ok(existsSync(join(dataDir, 'periods', `${T13}.staged.sqlite`)), 'the staged next log was left behind, not renamed');
      t.notOk(existsSync(join(dataDir, 'periods', `${T13}.sqlite`)), 'no period log T13 yet');
    } else t.ok(existsSync(staging), 'a half-prepared staging file was left behind');

    clock.ms = restart === 'within the lead' ? Date.UTC(2026, 10, 21, 12, 59, 30) : Date.UTC(2026, 10, 21, 13, 0, 30);
    const again = await startTestLedger(t, { dataDir, config, now: clock.now });
    const m2 = await again.meter({ ...M1, identity: m.identity });
    m2.session = m.session;
    if (restart === 'within the lead') {
      t.match((await m2.anchor(3n)).response, { ok: true }, 'still in 12:00: the meter anchors (and the preparation begins again)');
      await sleep(200); // a few turns of the event loop: the preparation's batches
      clock.ms = Date.UTC(2026, 10, 21, 13, 0, 30);
    } else {
      t.notOk(existsSync(staging), 'the staging file is deleted on start');
      t.notOk(existsSync(join(dataDir, 'periods', `${T13}.staged.sqlite`)), 'and so is a staged log');
    }
    const vkey = parseVerifierKey(again.ledger.verifierKey);
    const next = (await m2.anchor(4n)).response;
    t.match(next, { ok: true }, 'the meter anchors in the new period without binding again');
    const list = (await (await fetch(`${again.ledger.httpUrl}/periods`)).json()) as { current: string; periods: Array<{ period: string; closed: boolean }> };
    t.equal(list.current, T13);
    t.same(list.periods.map((p) => [p.period, p.closed]), [[T12, true], [T13, false]]);
    t.notOk(existsSync(staging), 'no staging file after the rotation');
    const { prev } = await assertTwoMeterChain(t, again.ledger.httpUrl, vkey);
    t.equal(next.leafIndex, String(1n + prev.carried), 'entry 0 and each carried entry exactly once, then the anchor');
  });
}
