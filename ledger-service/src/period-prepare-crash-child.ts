// A ledger in a child process for the preparation kill -9 test (period-prepare-crash.test.ts): starts with
// hourly periods on the data directory argv[2], its clock at argv[3] (epoch ms, within the lead before the
// boundary), asks for a checkpoint (which starts the next log's preparation, period-prepare.ts) and SIGKILLs
// itself at argv[4]:
//   'first-batch' (default): right after the first preparation batch is staged — a half-prepared staging file;
//   'before-rename': the preparation runs to the end, the clock moves past the boundary, and the child dies
//   after the staged log got its later key events and its real entry 0 but before it is renamed into place.
// If that never happens it prints {"started":true} and exits 0 (the test then fails).
import pino from 'pino';
import { CarryPreparer } from './period-prepare.js';
import { startLedger } from './service.js';

const [dataDir, nowText, at = 'first-batch'] = process.argv.slice(2) as [string, string, string?];
let nowMs = Number(nowText);
const { step, finish } = CarryPreparer.prototype;
let prepared = false;
CarryPreparer.prototype.step = function (this: CarryPreparer, meters?: number) {
  if (at === 'first-batch') {
    step.call(this, meters ?? 1);
    process.kill(process.pid, 'SIGKILL');
  }
  return (prepared = step.call(this, meters));
};
CarryPreparer.prototype.finish = function (this: CarryPreparer, ...args: Parameters<CarryPreparer['finish']>) {
  const r = finish.apply(this, args);
  process.kill(process.pid, 'SIGKILL');
  return r;
};

const ledger = await startLedger(
  { dataDir, origin: 'crash.test/ledger', mqtt: { port: 0 }, http: { port: 0 }, rotation: { period: 'hour' }, checkpointIntervalMs: 3_600_000 },
  { log: pino({ level: 'silent' }), now: () => nowMs },
);
await ledger.checkpointNow();
for (let i = 0; i < 200 && !prepared; i++) await new Promise((r) => setTimeout(r, 10));
if (at === 'before-rename' && prepared) {
  nowMs = (Math.floor(nowMs / 3_600_000) + 1) * 3_600_000 + 30_000; // past the boundary: the next checkpoint rotates
  await ledger.checkpointNow();
}
await new Promise((r) => setTimeout(r, 2000));
process.stdout.write(`${JSON.stringify({ started: true, prepared })}\n`);
await ledger.close();
