// The acceptance run of issue 2 as a user types it: `npm start -- --meters 3 --interval 500 --duration 20
// --tamper 2 --json` (shortened here to keep CI fast), as a real process over real ptys and brokers.
import t from 'tap';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { meterseal } from './harness.js';

t.test('demo: every sent reading is anchored and collected, exactly the 2 tampered are found, the gap ends closed', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'meterseal-sys-demo-'));
  const p = meterseal(['demo', '--meters', '3', '--interval', '400', '--duration', '8', '--tamper', '2', '--reconcile-every', '4', '--json', '--data-dir', dataDir]);
  const code = await p.exited;
  t.equal(code, 0, `demo exits 0 (stderr tail: ${p.lines.slice(-5).join(' | ')})`);
  const summary = JSON.parse(p.stdout().trim().split('\n').pop()!) as {
    readings: { sent: number; anchored: number; collected: number };
    reconciliation: { matched: number; tampered: number; missing: number; unanchored: number };
    airgap: { windows: number; open: boolean };
  };
  t.ok(summary.readings.sent >= 3 * 10, `readings were taken (${summary.readings.sent})`);
  t.equal(summary.readings.anchored, summary.readings.sent, 'every sent reading is anchored');
  t.equal(summary.readings.collected, summary.readings.sent, 'every sent reading is collected');
  t.equal(summary.reconciliation.tampered, 2, 'exactly the two altered readings are tampered');
  t.equal(summary.reconciliation.matched, summary.readings.sent - 2, 'every other reading matches');
  t.equal(summary.reconciliation.missing, 0);
  t.equal(summary.reconciliation.unanchored, 0);
  t.equal(summary.airgap.open, false, 'the air gap is closed at the end');
  t.ok(summary.airgap.windows >= 2, 'scheduled and final reconciliations each opened a window');
  const audit = readFileSync(join(dataDir, 'airgap', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string });
  t.equal(audit.filter((a) => a.event === 'open').length, summary.airgap.windows, 'every window open is audited');
  t.equal(audit.filter((a) => a.event === 'close').length, summary.airgap.windows, 'every window close is audited');
});
