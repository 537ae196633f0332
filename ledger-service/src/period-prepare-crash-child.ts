// A ledger in a child process for the preparation kill -9 test (period-prepare-crash.test.ts): starts with
// hourly periods on the data directory argv[2], its clock fixed at argv[3] (epoch ms, within the lead before
// the boundary), asks for a checkpoint (which starts the carry's preparation, period-prepare.ts) and SIGKILLs
// itself right after the first preparation batch has been staged — a half-prepared staging file is left.
// If that never happens it prints {"started":true} and exits 0 (the test then fails).
import pino from 'pino';
import { CarryPreparer } from './period-prepare.js';
import { startLedger } from './service.js';

const [dataDir, nowText] = process.argv.slice(2) as [string, string];
const { step } = CarryPreparer.prototype;
CarryPreparer.prototype.step = function (this: CarryPreparer, meters?: number) {
  step.call(this, meters ?? 1);
  process.kill(process.pid, 'SIGKILL');
  return false;
};

const ledger = await startLedger(
  { dataDir, origin: 'crash.test/ledger', mqtt: { port: 0 }, http: { port: 0 }, rotation: { period: 'hour' }, checkpointIntervalMs: 3_600_000 },
  { log: pino({ level: 'silent' }), now: () => Number(nowText) },
);
await ledger.checkpointNow();
await new Promise((r) => setTimeout(r, 2000));
process.stdout.write(`${JSON.stringify({ started: true })}\n`);
await ledger.close();
