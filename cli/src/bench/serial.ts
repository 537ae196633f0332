// `serial`: how close the agent's Modbus RTU master gets to what a 9600-baud RS-485 line can carry. Several
// simulated meters (unit ids 1..N) share one bus — a socat pty pair whose meter side paces every answer at the
// baud rate, as a real line would — and the agent's readers (one shared ModbusBus) poll them round-robin,
// each poll one full scan of a profile. The reference is the line-rate maximum of the same request mix, from
// frame sizes and the 3.5-character silences (Modbus over Serial Line V1.02 §2.5.1.1): requests + answers +
// two t3.5 gaps per transaction, no processing time at all.
import { pino } from 'pino';
import { loadProfile, readBlocks, type MeterProfile } from '@meterseal/hardware';
import { ModbusMeterReader, bitsPerChar } from '@meterseal/device';
import { createPtyPair, socatAvailable, startFleet } from '@meterseal/simulator';
import { Closers } from './closers.js';
import { compare, round, type Benchmark } from './types.js';

export const SERIAL_BAUD = 9600;
const LINE = { baudRate: SERIAL_BAUD, dataBits: 8, parity: 'none', stopBits: 1 } as const; // ptys: 8N1
const METERS = 3;
const PROFILE = 'chint-ddsu666';

/** Characters one scan of `profile` puts on the line, silences included (Modbus over Serial Line V1.02 §2.5.1.1). */
export function scanCharacters(profile: MeterProfile): { requests: number; chars: number; bytes: number } {
  let chars = 0;
  let bytes = 0;
  const blocks = readBlocks(profile);
  for (const b of blocks) {
    const request = 8; // unit, FC, address(2), quantity(2), CRC(2) — MB Application Protocol V1.1b3 §6.3
    const answer = 5 + 2 * b.quantity; // unit, FC, byte count, 2N data, CRC(2)
    bytes += request + answer;
    chars += request + 3.5 + answer + 3.5; // t3.5 after the request and after the answer
  }
  return { requests: blocks.length, chars, bytes };
}

/** Scans per second the line could carry at most: 1 / (characters × bits per character / baud). */
export function lineRateScansPerSec(profile: MeterProfile, line: { baudRate: number; dataBits: 7 | 8; parity: 'none' | 'even' | 'odd'; stopBits: 1 | 2 }): number {
  const seconds = (scanCharacters(profile).chars * bitsPerChar(line)) / line.baudRate;
  return 1 / seconds;
}

export const serialBench: Benchmark = {
  name: 'serial',
  description: `Modbus RTU polls per second on one ${SERIAL_BAUD}-baud bus (${METERS} paced meters) vs the line-rate maximum`,
  async run({ progress, quick }) {
    if (!(await socatAvailable())) throw new Error('the serial benchmark needs socat (apt-get install socat) for its pty pair');
    const profile = loadProfile(PROFILE);
    // House rule (timing.ts): short rounds, median kept, so a busy moment of a shared machine weighs less.
    const rounds = quick ? 3 : 7;
    const roundMs = quick ? 500 : 2500;
    const log = pino({ level: 'silent' });
    const closers = new Closers();
    try {
      const pair = await createPtyPair();
      closers.add(() => pair.close());
      const fleet = await startFleet({ protocol: 'modbus', meters: METERS, path: pair.a, profile: PROFILE, baudRate: SERIAL_BAUD, parity: 'none', pace: true }, { log });
      closers.add(() => fleet.close());
      const readers = fleet.meters.map((m) => new ModbusMeterReader({ path: pair.b, ...LINE, profile, unitId: m.unitId!, timeoutMs: 2000, retries: 0 }));
      for (const r of readers) {
        closers.add(() => r.close());
        await r.open();
      }
      for (const r of readers) await r.read(); // warm-up: ports open, code paths compiled
      progress(`serial: polling ${METERS} meters round-robin, ${rounds} rounds of ${roundMs} ms`);
      let polls = 0;
      const perRound: number[] = [];
      const start = performance.now();
      for (let r = 0; r < rounds; r++) {
        const t0 = performance.now();
        let n = 0;
        while (performance.now() - t0 < roundMs) {
          await readers[polls % readers.length]!.read();
          polls++;
          n++;
        }
        perRound.push((n * 1000) / (performance.now() - t0));
      }
      const elapsedS = (performance.now() - start) / 1000;
      const sorted = [...perRound].sort((a, b) => a - b);
      const pollsPerSec = sorted[sorted.length >> 1]!; // median round (odd count)
      const lineRatePollsPerSec = lineRateScansPerSec(profile, LINE);
      const scan = scanCharacters(profile);
      return {
        name: 'serial',
        params: {
          pollsPerSec: round(pollsPerSec),
          lineRatePollsPerSec: round(lineRatePollsPerSec),
          ratio: round(pollsPerSec / lineRatePollsPerSec),
          baud: SERIAL_BAUD,
          line: '8N1 (10 bits/char)',
          meters: METERS,
          profile: PROFILE,
          requestsPerPoll: scan.requests,
          bytesPerPoll: scan.bytes,
          polls,
          rounds,
          meanPollsPerSec: round(polls / elapsedS),
          durationMs: Math.round(elapsedS * 1000),
        },
        figures: [
          compare(
            { metric: `full-profile polls on one ${SERIAL_BAUD}-bd bus`, value: pollsPerSec, unit: 'polls/s' },
            { metric: 'line-rate maximum of the same requests (frames + t3.5 gaps)', value: lineRatePollsPerSec, unit: 'polls/s' },
            'ratio ≥ 0.90',
          ),
        ],
        notes: [
          'the meters are simulated on a socat pty pair and pace each answer at the baud rate; a pty itself carries bytes instantly',
          'simulator and master share this machine: on a loaded machine scheduling delays of a few ms per transaction lower the ratio (see machine.loadAverage1m)',
        ],
      };
    } finally {
      await closers.closeAll();
    }
  },
};
