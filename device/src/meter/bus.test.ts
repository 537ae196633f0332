import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { SerialPort } from 'serialport';
import { loadProfile, readBlocks } from '@meterseal/hardware';
import { createPtyPair, socatAvailable, startSimulator, type SimulatorConfigInput } from '@meterseal/simulator';
import { ModbusBus, encodeReadRequest, interFrameMs, parseReadResponse } from './bus.js';
import { MeterReadError } from './errors.js';
import { ModbusMeterReader } from './modbus-reader.js';

const log = pino({ level: 'silent' });
const profile = loadProfile('chint-ddsu666');
const hasSocat = await socatAvailable();
const pty = hasSocat ? {} : { skip: 'socat is not installed: bus tests need a real pty pair' };
interface HasTeardown {
  teardown(fn: () => unknown): void;
}

async function simOnPty(t: HasTeardown, config: SimulatorConfigInput = {}) {
  const pair = await createPtyPair();
  t.teardown(() => pair.close());
  const sim = await startSimulator({ path: pair.a, initialEnergyWh: 1000, ...config }, { log });
  t.teardown(() => sim.close());
  return { pair, sim };
}

t.test('t3.5 is 3.5 characters up to 19200 bd and 1.75 ms above (Modbus over Serial Line V1.02 §2.5.1.1)', async (t) => {
  t.equal(interFrameMs({ baudRate: 9600, dataBits: 8, parity: 'even', stopBits: 1 }), (3.5 * 11 * 1000) / 9600);
  t.equal(interFrameMs({ baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1 }), (3.5 * 10 * 1000) / 9600);
  t.equal(interFrameMs({ baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 }), 1.75);
});

t.test('parseReadResponse: CRC, exception (with its code) and wrong shape are distinct codes', async (t) => {
  const withCrc = (b: number[]): Uint8Array => {
    let c = 0xffff; // Modbus over Serial Line V1.02 §6.2.2, computed here independently of the code under test
    for (const x of b) {
      c ^= x;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    }
    return Uint8Array.from([...b, c & 0xff, c >>> 8]);
  };
  const good = withCrc([1, 3, 4, 0x43, 0x66, 0x33, 0x34]);
  t.same([...parseReadResponse(good, 1, 3, 2)], [0x43, 0x66, 0x33, 0x34]);
  const bad = good.slice();
  bad[8]! ^= 1;
  t.throws(() => parseReadResponse(bad, 1, 3, 2), { code: 'CRC' });
  t.throws(() => parseReadResponse(withCrc([1, 0x83, 2]), 1, 3, 2), { code: 'EXCEPTION', exceptionCode: 2 });
  t.throws(() => parseReadResponse(withCrc([1, 3, 2, 0, 0]), 1, 3, 2), { code: 'PROTOCOL' });
  t.throws(() => parseReadResponse(withCrc([2, 3, 4, 0, 0, 0, 0]), 1, 3, 2), { code: 'PROTOCOL' });
  t.throws(() => parseReadResponse(Uint8Array.of(1, 3), 1, 3, 2), { code: 'PROTOCOL' });
});

t.test('three unit ids on one bus: readers given one path share it and requests never interleave', pty, async (t) => {
  const pair = await createPtyPair();
  t.teardown(() => pair.close());
  // The meters' side of the bus, watched: bytes of requests in, answers out.
  const line = new SerialPort({ path: pair.a, baudRate: 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => line.open((e) => (e ? reject(e) : resolve())));
  t.teardown(() => new Promise<void>((resolve) => line.close(() => resolve())));
  let rxBytes = 0;
  let answers = 0;
  const violations: string[] = [];
  line.on('data', (chunk: Buffer) => {
    rxBytes += chunk.length;
    if (rxBytes > 8 * (answers + 1)) violations.push(`request bytes ${rxBytes} arrived before answer ${answers + 1} went out`);
  });
  const write = line.write.bind(line);
  line.write = ((chunk: Buffer) => {
    answers++;
    if (rxBytes !== 8 * answers) violations.push(`answer ${answers} after ${rxBytes} request bytes`);
    return write(chunk);
  }) as typeof line.write;
  const sims = [];
  for (const unitId of [1, 2, 3]) {
    // a slow meter: 15 ms before it answers, so unserialised requests would certainly overlap
    const sim = await startSimulator({ unitId, seed: unitId, initialEnergyWh: 1000 * unitId, faults: { replyDelayMs: 15 } }, { log, stream: line });
    t.teardown(() => sim.close());
    sims.push(sim);
  }
  const readers = [1, 2, 3].map((unitId) => new ModbusMeterReader({ path: pair.b, baudRate: 9600, profile, unitId, timeoutMs: 2000 }));
  for (const r of readers) {
    t.teardown(() => r.close());
    await r.open();
  }
  t.equal(readers[0]!.bus, readers[2]!.bus, 'one bus object for the path');
  for (let round = 0; round < 2; round++) {
    const all = await Promise.all(readers.map((r) => r.read()));
    all.forEach((samples, i) => {
      const energy = samples.find((s) => s.name === 'active_energy_import')!;
      t.ok(energy.value >= BigInt(1000 * (i + 1)), `unit ${i + 1}: its own meter's energy ${energy.value} Wh`);
    });
  }
  t.same(violations, [], 'each request went out only after the previous answer');
  const blocks = readBlocks(profile).length;
  t.equal(answers, 3 * 2 * blocks, `${blocks} blocks per meter per round`);
  t.same(sims.map((s) => s.stats().responses), [2 * blocks, 2 * blocks, 2 * blocks]);
});

t.test('over a pty: dropped answers are TIMEOUT, corrupted ones CRC, with exponential backoff between attempts', pty, async (t) => {
  const dropped = await simOnPty(t, { faults: { dropRate: 1 } });
  const r1 = new ModbusMeterReader({ path: dropped.pair.b, baudRate: 9600, profile, timeoutMs: 100, retries: 2, backoffMs: 60 });
  t.teardown(() => r1.close());
  await r1.open();
  const t0 = performance.now();
  await t.rejects(r1.read(), { name: 'MeterReadError', code: 'TIMEOUT', message: /after 3 attempts/ });
  t.ok(performance.now() - t0 >= 3 * 100 + 60 + 120 - 5, 'three timeouts and pauses of 60 then 120 ms');
  t.equal(dropped.sim.stats().line.dropped, 3);

  const corrupt = await simOnPty(t, { faults: { corruptRate: 1 } });
  const r2 = new ModbusMeterReader({ path: corrupt.pair.b, baudRate: 9600, profile, timeoutMs: 500, retries: 1, backoffMs: 1 });
  t.teardown(() => r2.close());
  await r2.open();
  await t.rejects(r2.read(), { code: 'CRC', message: /after 2 attempts/ });
  t.equal(r2.lastReadRetries, 1);
});

t.test('a re-plugged adapter: the pty pair is killed and recreated at the same path; the same reader reads again', pty, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-replug-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const links = { a: join(dir, 'meter'), b: join(dir, 'ttyUSB0') };
  const plug = async () => {
    const pair = await createPtyPair({ links });
    const sim = await startSimulator({ path: links.a, initialEnergyWh: 777 }, { log });
    return { pair, sim, unplug: async () => (await sim.close(), await pair.close()) };
  };
  let first = await plug();
  t.teardown(() => first.unplug());
  const reader = new ModbusMeterReader({ path: links.b, baudRate: 9600, profile, timeoutMs: 300, retries: 3, backoffMs: 50 });
  t.teardown(() => reader.close());
  await reader.open();
  t.equal((await reader.read()).length, profile.registers.length, 'reads before the unplug');

  await first.unplug(); // the adapter is pulled
  const during: unknown = await reader.read().then(() => null, (e: unknown) => e);
  t.ok(during instanceof MeterReadError && (during.code === 'PORT' || during.code === 'TIMEOUT'), `unplugged: ${(during as Error)?.message}`);

  first = await plug(); // plugged back: a new pty behind the same name
  const samples = await reader.read();
  t.equal(samples.find((s) => s.name === 'active_energy_import')!.value, 777n, 'the next read succeeds without a new reader');
  t.ok(reader.bus.reopens >= 1, `the bus reopened the port (${reader.bus.reopens} times)`);
  t.equal((await reader.read()).length, profile.registers.length, 'and keeps reading');
});

t.test('a bus refuses a second user with other line settings, and a reader needs exactly one of path, port, bus', async (t) => {
  const bus = ModbusBus.forPath('/dev/meterseal-shared-test', { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1 });
  t.equal(ModbusBus.forPath('/dev/meterseal-shared-test', { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1 }), bus);
  t.throws(() => ModbusBus.forPath('/dev/meterseal-shared-test', { baudRate: 2400, dataBits: 8, parity: 'none', stopBits: 1 }), { code: 'PORT' });
  t.throws(() => new ModbusMeterReader({ profile, bus, path: '/dev/x' }), { code: 'PORT' });
  await t.rejects(bus.transact(encodeReadRequest(1, 3, 0, 1), 100), { code: 'PORT', message: /not open/ });
});

t.test('parseReadResponse on hostile bytes: only MeterReadError, never anything else', async (t) => {
  const fc = await import('fast-check');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 125 }), (bytes, qty) => {
      try {
        const data = parseReadResponse(bytes, 1, 3, qty);
        return data.length === qty * 2;
      } catch (err) {
        return err instanceof MeterReadError && ['CRC', 'EXCEPTION', 'PROTOCOL'].includes(err.code);
      }
    }),
    { numRuns: 2000 },
  );
  t.pass('2000 random answers');
});
