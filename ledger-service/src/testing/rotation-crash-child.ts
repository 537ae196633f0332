// A ledger in a child process for the rotation kill -9 test (period-crash.test.ts): starts with hourly
// periods on the data directory argv[2] with its clock fixed at argv[3] (epoch ms), and SIGKILLs itself at
// the rotation step named by argv[4] — the kill -9 lands exactly between two steps of period-set.ts:
//   before-close     the old log's final checkpoint is signed and stored, the log not yet marked closed
//   after-close      the old log is marked closed, the new file does not exist yet
//   before-entry0    the new file has its identity, entry 0 is not committed
//   mid-carry        entry 0 is committed, the carried entries are not
// If the step is never reached it prints {"started":true} and exits 0 (the test then fails).
import pino from 'pino';
import { startLedger } from '../service.js';
import { SqliteStore } from '../sqlite-store.js';

const [dataDir, nowText, step] = process.argv.slice(2) as [string, string, string];
const die = (): never => {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
};
const proto = SqliteStore.prototype;
const { setMeta, appendBatch } = proto;
proto.setMeta = function (this: SqliteStore, key, value) {
  if (step === 'before-close' && key === 'closed_at_ms') die();
  setMeta.call(this, key, value);
  if (step === 'after-close' && key === 'closed_at_ms') die();
};
proto.appendBatch = function (this: SqliteStore, reqs) {
  if (step === 'before-entry0' && reqs[0]?.effect.kind === 'previous-log') die();
  appendBatch.call(this, reqs);
  if (step === 'mid-carry' && reqs[0]?.effect.kind === 'previous-log') die();
};

const ledger = await startLedger(
  { dataDir, origin: 'crash.test/ledger', mqtt: { port: 0 }, http: { port: 0 }, rotation: { period: 'hour' }, checkpointIntervalMs: 3_600_000 },
  { log: pino({ level: 'silent' }), now: () => Number(nowText) },
);
process.stdout.write(`${JSON.stringify({ started: true })}\n`);
await ledger.close();
