// A ledger in a child process, for the kill -9 test (service.crash.test.ts): starts on the data directory
// given as argv[2], checkpointing often, and prints {"mqttUrl": …} as one line when it is ready.
import pino from 'pino';
import { startLedger } from '../service.js';

const ledger = await startLedger(
  { dataDir: process.argv[2]!, mqtt: { port: 0 }, http: { port: 0 }, checkpointIntervalMs: 20 },
  { log: pino({ level: 'silent' }) },
);
process.stdout.write(`${JSON.stringify({ mqttUrl: ledger.mqttUrl })}\n`);
