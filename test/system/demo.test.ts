// The acceptance run of issue 2 as a user types it: `npm start -- --meters 3 --interval 500 --duration 20
// --tamper 2 --json` (shortened here to keep CI fast), as a real process over real ptys and brokers.
import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

t.test('demo without socat: says so and runs on the in-process serial link with the same guarantees', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'meterseal-sys-demo-nosocat-'));
  // node is started by absolute path; with an empty PATH the `socat` lookup fails as on a bare machine
  const p = meterseal(['demo', '--meters', '2', '--interval', '300', '--duration', '4', '--tamper', '1', '--json', '--data-dir', dataDir], { PATH: '/nonexistent' });
  t.equal(await p.exited, 0);
  t.ok(p.lines.some((l) => l.includes('socat not found')), 'the demo tells the user it fell back');
  const s = JSON.parse(p.stdout().trim().split('\n').pop()!) as { readings: { sent: number; anchored: number; collected: number }; reconciliation: { tampered: number; missing: number; unanchored: number } };
  t.ok(s.readings.sent > 0);
  t.equal(s.readings.anchored, s.readings.sent);
  t.equal(s.readings.collected, s.readings.sent);
  t.same([s.reconciliation.tampered, s.reconciliation.missing, s.reconciliation.unanchored], [1, 0, 0]);
});

t.test('demo --config: a file sets the run, a flag overrides it, a bad file is refused naming the field', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-sys-demo-cfg-'));
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ meters: 0 }));
  const p = meterseal(['demo', '--config', bad]);
  t.equal(await p.exited, 1);
  t.match(p.lines.join('\n'), /meters/, 'the error names the field');
  const good = join(dir, 'demo.json');
  writeFileSync(good, JSON.stringify({ meters: 1, intervalMs: 300, durationS: 60, tamper: 0 }));
  const q = meterseal(['demo', '--config', good, '--duration', '3', '--json', '--data-dir', join(dir, 'run')]);
  t.equal(await q.exited, 0, 'the --duration flag overrode durationS 60 (the run ended)');
  const s = JSON.parse(q.stdout().trim().split('\n').pop()!) as { readings: { sent: number; anchored: number } };
  t.ok(s.readings.sent > 0 && s.readings.anchored === s.readings.sent);
});
