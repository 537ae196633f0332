// A reconciliation worker thread (rehash.ts): opens the collector database on its own connection and turns
// each meter id it is sent into that meter's leaves (rehash-core.ts), sent back with their buffers transferred.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { leavesFromSqlite, prepareMeterQueries } from './rehash-core.js';

export interface RehashRequest {
  id: number;
  meterId: string;
}

const port = parentPort!;
const db = new Database((workerData as { path: string }).path, { fileMustExist: true });
db.pragma('query_only = ON'); // this connection only reads
db.pragma('busy_timeout = 5000');
db.defaultSafeIntegers(true); // INTEGER columns as bigint, as the store reads them
const queries = prepareMeterQueries(db);

port.on('message', (m: RehashRequest) => {
  try {
    const leaves = leavesFromSqlite(queries, m.meterId);
    const transfer = [leaves.seqs.buffer, leaves.agentTimes.buffer, leaves.ok.buffer, leaves.leafHashes.buffer, leaves.readingHashes.buffer] as ArrayBuffer[];
    port.postMessage({ id: m.id, leaves }, transfer);
  } catch (err) {
    port.postMessage({ id: m.id, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
});
port.postMessage('ready');
