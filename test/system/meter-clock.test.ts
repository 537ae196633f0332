// The agent sets a meter's clock only under its explicit policy, and records it (issue 4 item 6): a real
// ledger, the real agent and a DL/T 645 meter simulator whose clock is ten minutes slow, on an in-process line.
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import Database from 'better-sqlite3';
import { ClockSync, StatusFlag, decodeDelivery } from '@meterseal/protocol';
import { startTestLedger, tempDir } from '@meterseal/ledger-service/testing/harness';
import { startAgent } from '@meterseal/device';
import { createInProcessLink, startDlt645Simulator } from '@meterseal/simulator';

const silent = pino({ level: 'silent' });
const SLOW_MS = 600_000;

async function world(t: Test, set: 'never' | 'when-drift-exceeds', synced: boolean) {
  const M = { meterId: `CLK-${set}-${synced}`, customerAccount: 'ACC-CLK' };
  const tl = await startTestLedger(t, { meters: [M] });
  const link = createInProcessLink();
  const sim = await startDlt645Simulator({ address: '000000000077' }, { log: silent, stream: link.serverStream, clock: () => Date.now() - SLOW_MS });
  const dir = tempDir(t, 'meterseal-meter-clock-');
  const agent = await startAgent(
    { dataDir: dir, ...M, intervalMs: 3_600_000, requestTimeoutMs: 2000, serial: { protocol: 'dlt645', address: '000000000077' },
      clock: { set, driftToleranceS: 30, maxStepS: 3600 }, ledger: { url: tl.ledger.mqttUrl }, collector: { url: 'mqtt://127.0.0.1:9' } },
    { log: silent, port: link.clientPort, clockSync: () => (synced ? ClockSync.Synchronised : ClockSync.Unknown) },
  );
  t.teardown(async () => {
    await agent.close();
    await sim.close();
    link.close();
  });
  await agent.enrolled;
  const reading = (seq: bigint) => {
    const db = new Database(join(dir, 'agent.sqlite'), { readonly: true });
    try {
      return decodeDelivery(new Uint8Array((db.prepare('SELECT delivery FROM readings WHERE seq = ?').get(seq) as { delivery: Buffer }).delivery)).decoded;
    } finally {
      db.close();
    }
  };
  const settings = (): Array<Record<string, unknown>> => {
    try {
      return readFileSync(join(dir, 'meter-clock-settings.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    } catch {
      return [];
    }
  };
  return { agent, reading, settings };
}

t.test('policy "when-drift-exceeds" with a synchronised agent clock: the meter clock is set, recorded, and flagged on the next reading', async (t) => {
  const w = await world(t, 'when-drift-exceeds', true);
  const first = w.reading(await w.agent.readNow());
  t.ok((first.status & StatusFlag.MeterClockDriftBeyondTolerance) !== 0, 'the slow clock is flagged in the signed reading');
  const recs = w.settings();
  t.equal(recs.length, 1, 'one setting recorded');
  t.match(recs[0], { ok: true }, 'the DL/T 645 broadcast took effect (read back)');
  t.ok(Math.abs(Number(recs[0]!.driftMs) + SLOW_MS) < 5000, 'the record names the drift it corrected');
  const second = w.reading(await w.agent.readNow());
  t.ok((second.status & StatusFlag.MeterClockSet) !== 0, 'the next reading says the agent set the clock');
  t.equal(second.status & StatusFlag.MeterClockDriftBeyondTolerance, 0, 'and the meter clock is now within tolerance');
  t.ok(Math.abs(Number(second.meterTimeMs! - second.agentTimeMs)) < 5000, 'the signed meter time agrees with the agent\'s');
});

t.test('the same policy with the agent clock not known synchronised: nothing is set', async (t) => {
  const w = await world(t, 'when-drift-exceeds', false);
  const first = w.reading(await w.agent.readNow());
  t.ok((first.status & StatusFlag.MeterClockDriftBeyondTolerance) !== 0, 'flagged');
  t.same(w.settings(), [], 'no setting attempted');
  const second = w.reading(await w.agent.readNow());
  t.equal(second.status & StatusFlag.MeterClockSet, 0);
  t.ok(Number(second.agentTimeMs - second.meterTimeMs!) > SLOW_MS - 5000, 'the meter is still ten minutes slow');
});

t.test('policy "never" (the default): drift is only reported', async (t) => {
  const w = await world(t, 'never', true);
  w.reading(await w.agent.readNow());
  t.same(w.settings(), [], 'no setting attempted');
});
