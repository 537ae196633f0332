// A correction made by the agent (docs/protocol.md §14): it names the original by seq and hash from the outbox,
// takes the next seq in the same real SQLite outbox, signs its anchor with the session key, and leaves the original
// row untouched. Console arguments are parsed into a request or refused with USAGE.
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import t from 'tap';
import {
  ClockSync, GapReason, decodeAnchor, decodeCorrectionDelivery, decodeDelivery, generateKeyPair, keyId, readingHash, signGap, splitSigned, verifyRecord,
  type Reading,
} from '@meterseal/protocol';
import { parseCorrectionArgs, signedCorrection } from './correction.js';
import type { Session } from './enrol.js';
import { Outbox } from './outbox.js';
import { signReading } from './reading-builder.js';

function session(): Session {
  const key = generateKeyPair();
  return { key, keyId: keyId(key.publicKey), firstSeq: 1n, announcement: new Uint8Array(0), ledgerPublicKey: new Uint8Array(32) };
}

const reading = (seq: bigint): Reading => ({
  meterId: 'DEV-1', seq, meterTimeMs: null, meterIdentity: null, meterClockDeviationMin: null, meterClockStatus: null,
  agentTimeMs: 1_795_262_400_000n + seq * 1000n, clockSync: ClockSync.Synchronised, status: 1,
  registers: [{ obis: '1.0.1.8.0.255', value: 1000n + seq, scaler: 0, unit: 'Wh', raw: new Uint8Array([1]) }], salt: new Uint8Array(16).fill(Number(seq)),
});

t.test('a correction takes the next outbox seq, names the original by hash, and leaves the original as it was', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'device-correction-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const outbox = new Outbox(join(dir, 'agent.sqlite'));
  t.teardown(() => outbox.close());
  const s = session();
  for (let i = 0; i < 3; i++) outbox.enqueue((n) => signReading(reading(n), s));
  outbox.enqueue((n) => {
    const gap = signGap({ meterId: 'DEV-1', firstSeq: n, lastSeq: n, fromMs: 0n, toMs: 1n, reason: GapReason.SerialFailure, signer: '' }, { keyId: s.keyId, secretKey: s.key.secretKey });
    return { anchor: gap, delivery: gap };
  });
  const before = outbox.deliveryAt(2n)!;
  const req = { originalSeq: 2n, registers: [{ obis: '1.0.1.8.0.255', value: 5000n, scaler: 0, unit: 'Wh' as const }], reason: 'meter replaced, register offset' };
  const seq = outbox.enqueue((n) => signedCorrection('DEV-1', n, outbox.deliveryAt(req.originalSeq), req, 1_795_262_500_000n, s));
  t.equal(seq, 5n, 'the next seq after three readings and a gap');
  const d = decodeCorrectionDelivery(outbox.deliveryAt(5n)!);
  t.equal(d.correction.originalSeq, 2n);
  t.same(d.correction.originalHash, readingHash(decodeDelivery(before).reading), 'the original\'s reading hash');
  t.same(d.correction.registers, [{ obis: '1.0.1.8.0.255', value: 5000n, scaler: 0, unit: 'Wh' }]);
  t.ok(verifyRecord(d.anchor, d.signature, s.key.publicKey), 'signed with the session key over its anchor');
  const [anchorItem] = outbox.pending('ledger', 10, 4n);
  t.equal(anchorItem?.seq, 5n);
  t.equal(decodeAnchor(splitSigned(anchorItem!.payload).record).seq, 5n, 'interface 1 gets the signed anchor at the correction\'s seq');
  t.same(outbox.deliveryAt(2n), before, 'the original row is unchanged');

  t.throws(() => outbox.enqueue((n) => signedCorrection('DEV-1', n, outbox.deliveryAt(4n), { ...req, originalSeq: 4n }, 0n, s)), { code: 'NOT_A_READING' }, 'a gap is not a reading');
  t.throws(() => outbox.enqueue((n) => signedCorrection('DEV-1', n, outbox.deliveryAt(99n), { ...req, originalSeq: 99n }, 0n, s)), { code: 'NOT_A_READING' });
  t.throws(() => outbox.enqueue((n) => signedCorrection('DEV-1', n, outbox.deliveryAt(1n), { ...req, originalSeq: 1n, reason: '' }, 0n, s)), { code: 'BAD_CORRECTION' });
  t.equal(outbox.nextSeq(), 6n, 'a refused correction used no seq');
});

t.test('console arguments: registers and a reason after --, or USAGE naming what is wrong', async (t) => {
  t.same(parseCorrectionArgs(['12', '1.0.1.8.0.255=123456,-1,Wh', '1.0.2.8.0.255=7,0,Wh', '--', 'CT', 'ratio', 'wrong']), {
    originalSeq: 12n, reason: 'CT ratio wrong',
    registers: [{ obis: '1.0.1.8.0.255', value: 123456n, scaler: -1, unit: 'Wh' }, { obis: '1.0.2.8.0.255', value: 7n, scaler: 0, unit: 'Wh' }],
  });
  t.throws(() => parseCorrectionArgs(['12', '1.0.1.8.0.255=1,0,Wh']), { code: 'USAGE' }, 'no reason');
  t.throws(() => parseCorrectionArgs(['12', '1.0.1.8.0.255=1,0,Wh', '--']), { code: 'USAGE' }, 'empty reason');
  t.throws(() => parseCorrectionArgs(['0', '1.0.1.8.0.255=1,0,Wh', '--', 'x']), { code: 'USAGE' }, 'seq 0');
  t.throws(() => parseCorrectionArgs(['12', '1.0.1.8.0.255=1.5,0,Wh', '--', 'x']), { code: 'USAGE' }, 'not an integer');
  t.throws(() => parseCorrectionArgs(['12', '--', 'x']), { code: 'USAGE' }, 'no register');
});

t.test('the console\'s signed `correct` command parses the line and asks the agent, whose seq it answers', async (t) => {
  const { COMMANDS } = await import('./console/commands.js');
  const spec = COMMANDS.get('correct')!;
  t.ok(spec.privileged, 'a state-changing command: it runs only signed by a technician');
  const asked: unknown[] = [];
  const session = { agent: { correct: async (req: unknown) => (asked.push(req), 17n) } } as never;
  t.same(await spec.run(['3', '1.0.1.8.0.255=99,0,Wh', '--', 'wrong', 'CT'], { session }), { seq: '17', originalSeq: '3' });
  t.same(asked, [{ originalSeq: 3n, registers: [{ obis: '1.0.1.8.0.255', value: 99n, scaler: 0, unit: 'Wh' }], reason: 'wrong CT' }]);
  await t.rejects(spec.run(['3', '1.0.1.8.0.255=99,0,Wh'], { session }), { code: 'USAGE' }, 'refused before the agent is asked');
  t.equal(asked.length, 1);
  await t.rejects(spec.run(['3', '1.0.1.8.0.255=99,0,Wh', '--', 'x'], { session: { agent: {} } as never }), { code: 'UNSUPPORTED' });
});
