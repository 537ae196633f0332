// Shared by the kill -9 tests of log rotation (period-crash.test.ts, period-prepare-crash.test.ts): a child
// process that runs the ledger and SIGKILLs itself at a named step, and the hourly-rotating ledger both start from.
import { spawn } from 'node:child_process';
import type { Test } from 'tap';
import { decodePreviousLog, fromBase64, verifyPeriodChain, type NoteVerifier } from '@meterseal/protocol';
import { ManualClock, startTestLedger, writeWhitelist } from './harness.js';

export const ROTATION_BASE = 'crash.test/ledger';

/** Runs `child` (tsx) on `dataDir` with its clock at `clockMs` and the kill point `step`; SIGKILLed after 120 s. */
export function runRotationChild(child: string, dataDir: string, clockMs: number, step: string): Promise<{ signal: NodeJS.Signals | null; code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, dataDir, String(clockMs), step], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.once('exit', (code, signal) => (clearTimeout(timer), resolve({ code, signal, out })));
  });
}

type Meter = { meterId: string; customerAccount: string };

/**
 * An hourly-rotating ledger at 12:40 UTC on `dataDir`: `m1` onboarded with seqs 1 and 2 anchored, `m2` only
 * registered — key state of both kinds for a rotation to carry. Returned still running, with its clock and config.
 */
export async function rotatingLedgerWithTwoMeters(t: Test, dataDir: string, m1: Meter, m2: Meter): Promise<{
  first: Awaited<ReturnType<typeof startTestLedger>>;
  clock: ManualClock;
  /** m1's client (its identity and session key, to anchor on after a restart). */
  m: Awaited<ReturnType<Awaited<ReturnType<typeof startTestLedger>>['meter']>>;
  config: { origin: string; rotation: { period: 'hour' }; checkpointIntervalMs: number };
}> {
  const clock = new ManualClock(Date.UTC(2026, 10, 21, 12, 40, 0));
  writeWhitelist(dataDir, [m1, m2]);
  const config = { origin: ROTATION_BASE, rotation: { period: 'hour' as const }, checkpointIntervalMs: 3_600_000 };
  const first = await startTestLedger(t, { dataDir, config, now: clock.now });
  const m = await first.meter(m1);
  await m.onboard(1n);
  for (const seq of [1n, 2n]) t.match((await m.anchor(seq)).response, { ok: true });
  t.match(await (await first.meter(m2)).register(), { ok: true });
  return { first, clock, config, m };
}

interface LinkJson { checkpoint: string; firstEntry?: string; firstEntryProof?: string[] }

/**
 * Reads the links of 12:00 and 13:00 from the restarted ledger, asserts the chain verifies (protocol
 * verifyPeriodChain) and that 13:00's entry 0 carried the two registrations and one binding; returns the links and
 * that PreviousLog record.
 */
export async function assertTwoMeterChain(t: Test, ledgerUrl: string, vkey: NoteVerifier): Promise<{ links: LinkJson[]; prev: ReturnType<typeof decodePreviousLog> }> {
  const periods = ['2026-11-21T12', '2026-11-21T13'];
  const links = await Promise.all(periods.map(async (p) => (await (await fetch(`${ledgerUrl}/period/${p}/link`)).json()) as LinkJson));
  const chain = verifyPeriodChain(links.map((l) => ({
    checkpoint: l.checkpoint, ...(l.firstEntry ? { firstEntry: fromBase64(l.firstEntry), firstEntryProof: (l.firstEntryProof ?? []).map(fromBase64) } : {}),
  })), { verifier: vkey, baseOrigin: ROTATION_BASE });
  t.same(chain.map((p) => p.period), periods, 'the chain verifies');
  const prev = decodePreviousLog(fromBase64(links[1]!.firstEntry!));
  t.equal(prev.carried, 3n, 'two registrations and one binding carried');
  return { links, prev };
}
