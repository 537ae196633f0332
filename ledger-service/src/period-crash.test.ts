// kill -9 at each step of a rotation (period-set.ts): a real child process runs the ledger with hourly periods
// and SIGKILLs itself between two steps (testing/rotation-crash-child.ts); the ledger restarted on the same
// data directory is consistent: the closed log kept its final checkpoint, the new log holds entry 0 and every
// carried entry exactly once, the chain of periods verifies, and the meter anchors without binding again.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { openCheckpoint, parseVerifierKey } from '@meterseal/protocol';
import { startTestLedger, tempDir } from './testing/harness.js';
import { assertTwoMeterChain, rotatingLedgerWithTwoMeters, runRotationChild } from './testing/rotation-crash.js';

const child = fileURLToPath(new URL('./testing/rotation-crash-child.ts', import.meta.url));
const M1 = { meterId: 'CR-1', customerAccount: 'A-1' };
const M2 = { meterId: 'CR-2', customerAccount: 'A-2' };
const T12 = '2026-11-21T12';
const T13 = '2026-11-21T13';
const AFTER = Date.UTC(2026, 10, 21, 13, 0, 30);


// (before-close is in the child too; it is the same state as a crash before the rotation began, not run here)
for (const step of ['after-close', 'before-entry0', 'mid-carry']) {
  t.test(`kill -9 ${step}: the restarted ledger completes the rotation consistently`, async (t) => {
    const dataDir = tempDir(t);
    const { first, clock, config, m } = await rotatingLedgerWithTwoMeters(t, dataDir, M1, M2);
    const finalBefore = await first.ledger.checkpointNow();
    await first.ledger.close();

    const r = await runRotationChild(child, dataDir, AFTER, step);
    t.equal(r.signal, 'SIGKILL', `the child was killed at ${step} (${r.out.trim() || 'no output'})`);
    const file13 = join(dataDir, 'periods', `${T13}.sqlite`);
    if (step === 'after-close') t.notOk(existsSync(file13), 'no new log file yet');
    else t.ok(existsSync(file13), 'an incomplete new log file was left behind');

    clock.ms = AFTER;
    const again = await startTestLedger(t, { dataDir, config, now: clock.now });
    const vkey = parseVerifierKey(again.ledger.verifierKey);
    const list = (await (await fetch(`${again.ledger.httpUrl}/periods`)).json()) as { current: string; periods: Array<{ period: string; closed: boolean; finalCheckpoint?: string }> };
    t.equal(list.current, T13);
    t.same(list.periods.map((p) => [p.period, p.closed]), [[T12, true], [T13, false]]);
    t.equal(list.periods[0]!.finalCheckpoint, finalBefore, 'the closed log\'s final checkpoint is the last one it signed');

    const { links, prev } = await assertTwoMeterChain(t, again.ledger.httpUrl, vkey);
    t.equal(openCheckpoint(links[1]!.checkpoint, vkey).size, 1n + prev.carried, 'entry 0 and each carried entry exactly once, nothing else');

    const m2 = await again.meter({ ...M1, identity: m.identity });
    m2.session = m.session;
    t.match((await m2.anchor(3n)).response, { ok: true, leafIndex: String(1n + prev.carried) }, 'the meter anchors in the new period without binding again');
  });
}
