// `protocol`: the device's per-reading work — encodeReading, readingHash, encodeAnchor, signRecord, as in
// device/src/reading-builder.ts signReading — against bare noble signing of the same-sized anchor messages,
// measured in alternating rounds. The ratio says how much of the device's work is the signature itself.
import { encodeAnchor, encodeReading, generateKeyPair, keyId, readingHash, sign, signRecord, signingMessage } from '@meterseal/protocol';
import { benchReadings } from './readings.js';
import { measureRates } from './timing.js';
import { compare, timingFor, type Benchmark } from './types.js';

export const DEFAULT_READINGS = 2000;

export const protocolBench: Benchmark = {
  name: 'protocol',
  description: "the device's per-reading work (encode, hash, anchor, sign) vs bare noble signing",
  async run({ n = DEFAULT_READINGS, progress, quick }) {
    const timing = timingFor({ quick });
    const meterId = 'bench-meter-0001';
    const session = generateKeyPair();
    const kid = keyId(session.publicKey);
    const readings = benchReadings(meterId, n);
    // The reference signs the very messages the pipeline ends up signing.
    const messages = readings.map((r) => signingMessage(encodeAnchor({ meterId, seq: r.seq, keyId: kid, readingHash: readingHash(encodeReading(r)) })));
    progress(`protocol: ${n} readings through encode+hash+anchor+sign, and bare noble sign, in alternating rounds`);
    const [pipeline, bare] = measureRates([
      {
        items: readings,
        op: (r: (typeof readings)[number]) => {
          const bytes = encodeReading(r);
          const anchor = encodeAnchor({ meterId: r.meterId, seq: r.seq, keyId: kid, readingHash: readingHash(bytes) });
          return signRecord(anchor, session.secretKey);
        },
      },
      { items: messages, op: (m: Uint8Array) => sign(m, session.secretKey) },
    ], timing);
    return {
      name: 'protocol',
      params: { readings: n, rounds: timing.rounds, roundMs: timing.roundMs, registersPerReading: readings[0]!.registers.length, readingBytes: encodeReading(readings[0]!).length },
      figures: [
        compare(
          { metric: 'reading pipeline (1 core)', value: pipeline!, unit: 'readings/s' },
          { metric: 'bare noble sign (1 core)', value: bare!, unit: 'signs/s' },
        ),
      ],
    };
  },
};
