// PreviousLog (0x16) and period ids: round trip, canonical refusals, UTC period arithmetic.
import t from 'tap';
import { generateKeyPair } from './ed25519.js';
import { noteSigner } from './note.js';
import { signCheckpoint } from './checkpoint.js';
import { EMPTY_ROOT } from './merkle/hashing.js';
import {
  decodePreviousLog, encodePreviousLog, periodOf, sameLedgerOrigin, periodOfOrigin, periodOrigin, periodStartMs, periodUnitOf, previousCheckpointOf,
  PREVIOUS_LOG_TYPE, type PreviousLog,
} from './previous-log.js';
import { RecordType } from './record-types.js';

const signer = noteSigner('meterseal.test/ledger', generateKeyPair().secretKey);
const finalNote = signCheckpoint({ origin: 'meterseal.test/ledger/2026-10', size: 42n, root: EMPTY_ROOT, extensions: ['meterseal-index/v1 3 AAAA'] }, signer);
const sample: PreviousLog = { origin: 'meterseal.test/ledger/2026-11', closedAtMs: BigInt(Date.UTC(2026, 10, 1, 0, 0, 1)), carried: 7n, checkpoint: finalNote };

t.test('PreviousLog round-trips and names the previous checkpoint', async (t) => {
  t.equal(PREVIOUS_LOG_TYPE, 0x16);
  t.equal(RecordType.PreviousLog, 0x16);
  const bytes = encodePreviousLog(sample);
  t.equal(bytes[0], 0x16, 'type byte');
  t.equal(bytes[1], 0x01, 'version byte');
  t.same(decodePreviousLog(bytes), sample);
  const cp = previousCheckpointOf(decodePreviousLog(bytes));
  t.equal(cp.origin, 'meterseal.test/ledger/2026-10');
  t.equal(cp.size, 42n);
  t.same(cp.extensions, ['meterseal-index/v1 3 AAAA']);
});

t.test('PreviousLog: bad records are refused with named codes', async (t) => {
  const bytes = encodePreviousLog(sample);
  t.throws(() => decodePreviousLog(bytes.subarray(0, bytes.length - 1)), { code: 'TRUNCATED' });
  t.throws(() => decodePreviousLog(Uint8Array.from([...bytes, 0])), { code: 'TRAILING_BYTES' });
  t.throws(() => decodePreviousLog(Uint8Array.from([0x15, ...bytes.subarray(1)])), { code: 'WRONG_TYPE' });
  t.throws(() => decodePreviousLog(Uint8Array.from([0x16, 0x02, ...bytes.subarray(2)])), { code: 'BAD_VERSION' });
  t.throws(() => encodePreviousLog({ ...sample, checkpoint: 'not a note' }), { code: 'BAD_NOTE' });
  t.throws(() => encodePreviousLog({ ...sample, origin: 'has space' }), { code: 'BAD_ORIGIN' });
  t.throws(() => encodePreviousLog({ ...sample, origin: 'meterseal.test/ledger/2026-10' }), { code: 'BAD_PREVIOUS_LOG' }, 'a log cannot commit itself');
  t.throws(() => encodePreviousLog({ ...sample, closedAtMs: -1n }), { code: 'RANGE' });
  // the checkpoint field holds invalid UTF-8
  const enc = encodePreviousLog(sample);
  const at = enc.length - 5;
  const bad = Uint8Array.from(enc);
  bad[at] = 0xff;
  t.throws(() => decodePreviousLog(bad), { code: 'BAD_UTF8' });
});

t.test('period ids are UTC and sort in time order', async (t) => {
  const ms = Date.UTC(2026, 11, 31, 23, 59, 59, 999);
  t.equal(periodOf(ms, 'month'), '2026-12');
  t.equal(periodOf(ms, 'day'), '2026-12-31');
  t.equal(periodOf(ms, 'hour'), '2026-12-31T23');
  t.equal(periodOf(ms + 1, 'month'), '2027-01', 'one millisecond later is the next month');
  t.equal(periodStartMs('2027-01', 'month'), ms + 1);
  t.equal(periodStartMs('2026-12-31T23', 'hour'), Date.UTC(2026, 11, 31, 23));
  t.equal(periodStartMs('2026-02-28', 'day'), Date.UTC(2026, 1, 28));
  t.throws(() => periodStartMs('2026-02-30', 'day'), { code: 'BAD_PERIOD' }, 'not a calendar day');
  t.throws(() => periodStartMs('2026-13', 'month'), { code: 'BAD_PERIOD' });
  t.throws(() => periodStartMs('2026-11', 'day'), { code: 'BAD_PERIOD' }, 'a month id is not a day id');
  t.equal(periodUnitOf('2026-11-21T19'), 'hour');
  t.equal(periodUnitOf('2026/11'), undefined);
  t.ok('2026-09' < '2026-10' && '2026-10-31T23' < '2026-11-01T00', 'text order is time order');
  t.equal(periodOrigin('a.example/log', '2026-11'), 'a.example/log/2026-11');
  t.equal(periodOfOrigin('a.example/log', 'a.example/log/2026-11'), '2026-11');
  t.equal(periodOfOrigin('a.example/log', 'a.example/log'), undefined);
  t.equal(periodOfOrigin('a.example/log', 'a.example/log/x'), undefined);
  t.equal(periodOfOrigin('a.example/log', 'a.example/logger/2026-11'), undefined);
  t.ok(sameLedgerOrigin('a.example/log', 'a.example/log'), 'the base itself');
  t.ok(sameLedgerOrigin('a.example/log', 'a.example/log/2026-11-21T13'), 'a period log');
  t.notOk(sameLedgerOrigin('a.example/log', 'a.example/log/other'), 'not a period id');
  t.notOk(sameLedgerOrigin('a.example/log', 'b.example/log/2026-11'), 'another ledger');
});
