// DlmsMeterReader against the DLMS/COSEM simulator over a real socat pty pair (8N1): no authentication, LLS,
// HLS-GMAC (with a file-backed invocation counter), wrong credentials, load profile by range, a server that
// adds garbage, and a meter that goes away and comes back.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadDlmsProfile } from '@meterseal/hardware';
import { createPtyPair, socatAvailable, startDlmsSimulator, type DlmsSimulatorConfigInput, type DlmsSimulatorHandle } from '@meterseal/simulator';
import { DlmsError } from '../dlms/errors.js';
import { MemoryInvocationCounter } from '../dlms/cosem/hls.js';
import { FileInvocationCounter } from '../dlms/invocation-counter.js';
import { DlmsMeterReader, type DlmsMeterReaderOptions } from './dlms-reader.js';

const log = pino({ level: 'silent' });
const FIXED = Date.UTC(2026, 10, 21, 12, 7, 30);
const profile = loadDlmsProfile('dlms-single-phase');
const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const AK = 'D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF';
const EK = '000102030405060708090A0B0C0D0E0F';
const CLIENT_TITLE = hex('4D45540000000042');

interface HasTeardown {
  teardown(fn: () => unknown): void;
}

async function rig(t: HasTeardown, sim: DlmsSimulatorConfigInput, reader: Partial<DlmsMeterReaderOptions> = {}) {
  const pair = await createPtyPair();
  t.teardown(() => pair.close());
  const simulator: DlmsSimulatorHandle = await startDlmsSimulator({ path: pair.a, seed: 3, initialEnergyWh: 1_234_567, ...sim }, { log, clock: () => FIXED });
  t.teardown(() => simulator.close());
  const r = new DlmsMeterReader({ path: pair.b, profile, timeoutMs: 1500, log, ...reader });
  t.teardown(() => r.close());
  await r.open();
  return { simulator, reader: r, pair };
}

const hasSocat = await socatAvailable();
const pty = hasSocat ? {} : { skip: 'socat is not installed: the DLMS reader tests need a real pty pair' };

t.test('no authentication: every profile register with scaler_unit, identity and clock', pty, async (t) => {
  const { simulator, reader } = await rig(t, { auth: 'none', serialNumber: 'SN-0042' });
  const s = await reader.snapshot();
  t.equal(s.samples.length, profile.registers.length);
  const by = new Map(s.samples.map((x) => [x.obis, x]));
  t.same({ ...by.get('1.0.1.8.0.255'), raw: undefined }, { name: 'active_energy_import', obis: '1.0.1.8.0.255', value: 1_234_567n, scaler: 0, unit: 'Wh', raw: undefined });
  t.equal(Buffer.from(by.get('1.0.1.8.0.255')!.raw).toString('hex'), '06' + (1_234_567).toString(16).padStart(8, '0'), 'raw is the A-XDR value');
  const tariffs = [1, 2, 3, 4].map((n) => by.get(`1.0.1.8.${n}.255`)!.value);
  t.equal(tariffs.reduce((a, b) => a + b, 0n), 1_234_567n, 'tariffs add up to the total');
  const v = by.get('1.0.32.7.0.255')!;
  t.equal(v.scaler, -1);
  t.equal(v.unit, 'V');
  t.ok(v.value > 2200n && v.value < 2400n, `voltage ${v.value} × 0.1 V`);
  t.equal(by.get('1.0.31.7.0.255')!.scaler, -2);
  t.equal(s.meterIdentity, 'SN-0042');
  t.same(s.meterClock, { timeMs: BigInt(FIXED), deviationMin: 0, status: 0 });
  t.equal(s.retries, 0);
  t.equal(reader.associated, false, 'released after the scan (RLRQ, DISC)');
  t.equal(simulator.stats().disconnects, 1);
  t.equal(simulator.stats().associations, 1);
});

t.test('LLS: the right password reads; a wrong one is REJECTED (authentication-failure), never retried', pty, async (t) => {
  const ok = await rig(t, { auth: 'lls', password: 'S3cret!!' }, { auth: { mechanism: 'lls', password: 'S3cret!!' } });
  t.equal((await ok.reader.read()).length, profile.registers.length);
  const bad = await rig(t, { auth: 'lls', password: 'S3cret!!' }, { auth: { mechanism: 'lls', password: 'guess' } });
  const err = await bad.reader.read().catch((e: unknown) => e);
  t.ok(err instanceof DlmsError && err.code === 'REJECTED', String(err));
  t.match(String(err), /authentication-failure/);
  t.equal(bad.simulator.stats().authFailures, 1, 'one attempt only');
});

t.test('HLS-GMAC: keeps the association between scans; the counter file moves on every association', pty, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dlms-ic-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'ic');
  const auth = { mechanism: 'hls' as const, authenticationKey: hex(AK), encryptionKey: hex(EK), systemTitle: CLIENT_TITLE, invocationCounter: new FileInvocationCounter(file, 10n) };
  const { simulator, reader } = await rig(t, { auth: 'hls' }, { auth, keepAssociation: true, clientAddress: 48 });
  const a = await reader.snapshot();
  const b = await reader.snapshot();
  t.equal(a.samples.length, profile.registers.length);
  t.ok(b.samples[0]!.value >= a.samples[0]!.value);
  t.equal(reader.associated, true);
  t.equal(simulator.stats().associations, 1, 'one association for two scans');
  t.equal(readFileSync(file, 'utf8').trim(), '11', 'IC 10 used and persisted as used');
  await reader.close();
  t.equal(simulator.stats().disconnects, 1, 'close releases');
  const again = new DlmsMeterReader({ path: (reader as unknown as { port: { path: string } }).port.path, profile, log, timeoutMs: 1500, auth: { ...auth, invocationCounter: new FileInvocationCounter(file) } });
  t.teardown(() => again.close());
  await again.open();
  await again.snapshot();
  t.equal(readFileSync(file, 'utf8').trim(), '12', 'a new reader continues from the file');
});

t.test('HLS-GMAC: wrong key is AUTH; a replayed counter is AUTH; neither hangs', pty, async (t) => {
  const wrong = await rig(t, { auth: 'hls' }, { auth: { mechanism: 'hls', authenticationKey: hex(EK), encryptionKey: hex(EK), systemTitle: CLIENT_TITLE, invocationCounter: new MemoryInvocationCounter() } });
  await t.rejects(wrong.reader.snapshot(), { code: 'AUTH' });
  t.equal(wrong.simulator.stats().authFailures, 1);
  const replay = await rig(t, { auth: 'hls' }, { auth: { mechanism: 'hls', authenticationKey: hex(AK), encryptionKey: hex(EK), systemTitle: CLIENT_TITLE, invocationCounter: { next: () => 5n } } });
  await replay.reader.snapshot();
  await t.rejects(replay.reader.snapshot(), { code: 'AUTH' }, 'the same counter twice is refused');
});

t.test('load profile by time range (selective access, block transfer) for backfill', pty, async (t) => {
  const { simulator, reader } = await rig(t, { auth: 'none', maxPdu: 256 });
  const from = FIXED - 6 * 3_600_000;
  const rows = await reader.readLoadProfile(from, FIXED);
  t.equal(rows.length, 24, 'six hours of 15-minute entries');
  t.ok(rows.every((r, i) => i === 0 || r.timeMs - rows[i - 1]!.timeMs === 900_000), 'every 15 minutes, oldest first');
  t.ok(rows[0]!.timeMs >= from && rows.at(-1)!.timeMs <= FIXED);
  const energy = rows.map((r) => r.values['1.0.1.8.0.255']);
  t.ok(energy.every((e) => e?.type === 'double-long-unsigned'));
  const wh = energy.map((e) => (e as { value: number }).value);
  t.ok(wh.every((w, i) => i === 0 || w >= wh[i - 1]!), 'energy never decreases');
  t.ok(wh.at(-1)! <= 1_234_567, 'and ends at or below the register now');
  t.ok(simulator.stats().blocks > 1, `block transfer used (${simulator.stats().blocks} blocks)`);
  t.same(await reader.readLoadProfile(FIXED + 3_600_000, FIXED + 7_200_000), [], 'an empty range is empty');
});

t.test('a server that appends garbage bytes and line noise: the client still reads', pty, async (t) => {
  const { simulator, reader } = await rig(t, { auth: 'none', misbehave: { trailingBytes: 5, noiseBytes: 7 } });
  const s = await reader.snapshot();
  t.equal(s.samples.length, profile.registers.length);
  t.ok(simulator.stats().requests > 0);
});

t.test('no meter on the line: TIMEOUT within the configured time; the reader reconnects when it comes back', pty, async (t) => {
  const pair = await createPtyPair();
  t.teardown(() => pair.close());
  const reader = new DlmsMeterReader({ path: pair.b, profile, timeoutMs: 200, linkRetries: 1, sessionRetries: 0, log });
  t.teardown(() => reader.close());
  await reader.open();
  const started = Date.now();
  await t.rejects(reader.snapshot(), { code: 'TIMEOUT' });
  t.ok(Date.now() - started < 30_000, 'gave up, did not hang');
  const sim = await startDlmsSimulator({ path: pair.a }, { log, clock: () => FIXED });
  t.teardown(() => sim.close());
  const s = await reader.snapshot();
  t.equal(s.samples.length, profile.registers.length, 'reads once the meter answers');
});

t.test('a noisy line (answers with a broken FCS) costs retries, not readings', pty, async (t) => {
  const { simulator, reader } = await rig(t, { auth: 'none', seed: 11, faults: { corruptRate: 0.15 } }, { timeoutMs: 250, linkRetries: 4 });
  for (let i = 0; i < 3; i++) t.equal((await reader.read()).length, profile.registers.length, `scan ${i + 1}`);
  t.ok(simulator.line().corrupted > 0, `${simulator.line().corrupted} answers corrupted on the way`);
});

t.test('the meter reboots while the association is kept: the reader opens a new session', pty, async (t) => {
  const { simulator, reader } = await rig(t, { auth: 'lls', password: 'pw', faults: { rebootDowntimeMs: 100 } }, { auth: { mechanism: 'lls', password: 'pw' }, keepAssociation: true, timeoutMs: 300 });
  await reader.snapshot();
  simulator.reboot();
  await new Promise((r) => setTimeout(r, 150));
  const s = await reader.snapshot();
  t.equal(s.samples.length, profile.registers.length);
  t.equal(s.retries, 1, 'the dropped session counts as a retry');
  t.equal(simulator.stats().associations, 2);
  t.equal(s.samples[0]!.value, 0n, 'registers reset by the reboot');
});

t.test('meter clock: a drifted clock and its clock_status come through as the meter reported them', pty, async (t) => {
  const { reader } = await rig(t, { auth: 'none', clockOffsetMs: 95_000, clockStatus: 0x02 });
  const s = await reader.snapshot();
  t.same(s.meterClock, { timeMs: BigInt(FIXED + 95_000), deviationMin: 0, status: 0x02 }, 'doubtful (0x02), 95 s fast');
});

t.test('a line that only carries garbage: TIMEOUT, not a hang', pty, async (t) => {
  const pair = await createPtyPair();
  t.teardown(() => pair.close());
  const { SerialPort } = await import('serialport');
  const noise = new SerialPort({ path: pair.a, baudRate: 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => noise.open((e) => (e ? reject(e) : resolve())));
  t.teardown(() => new Promise<void>((resolve) => noise.close(() => resolve())));
  // Answers every request with flags, half frames and random bytes (some with a valid-looking header).
  noise.on('data', () => noise.write(Buffer.concat([Buffer.from('7ea0ff0303', 'hex'), Buffer.from(Array.from({ length: 40 }, (_, i) => (i * 37) & 0xff)), Buffer.from('7e7e7ea00a', 'hex')])));
  const reader = new DlmsMeterReader({ path: pair.b, profile, timeoutMs: 200, linkRetries: 1, sessionRetries: 1, log });
  t.teardown(() => reader.close());
  await reader.open();
  const err = await reader.snapshot().catch((e: unknown) => e);
  t.ok(err instanceof DlmsError && err.code === 'TIMEOUT', `typed error: ${String(err)}`);
});
