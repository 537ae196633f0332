// Measures a rotation's carry (period-set.ts) at a given number of meters, each with a registration and a
// binding: `node --import tsx ledger-service/src/period-carry-measure.ts 20000`. Prints JSON.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { generateKeyPair, utf8 } from '@meterseal/protocol';
import { loadOrCreateKeys } from './keys.js';
import { PeriodLogSet } from './period-set.js';
import { RotatingLog, RotatingStore } from './period-store.js';
import type { PendingEntry } from './log.js';

const meters = Number(process.argv[2] ?? '20000');
const dir = mkdtempSync(join(tmpdir(), 'meterseal-carry-'));
try {
  let now = Date.UTC(2026, 10, 30, 23, 0);
  const keys = loadOrCreateKeys(dir, 'measure.test/ledger');
  const set = PeriodLogSet.open({ dataDir: dir, baseOrigin: 'measure.test/ledger', unit: 'month', keys, now: () => now, logger: pino({ level: 'silent' }) });
  const store = new RotatingStore(set);
  const log = new RotatingLog(set, store, keys.noteSigner, 'measure.test/ledger');
  const id = generateKeyPair().publicKey;
  for (let base = 0; base < meters; base += 2000) {
    const batch: PendingEntry[] = [];
    const first = log.size;
    for (let i = base; i < Math.min(meters, base + 2000); i++) {
      const meterId = `M-${i.toString().padStart(8, '0')}`;
      batch.push({ entry: utf8.encode(`registration ${meterId}`.padEnd(120, '.')), effect: { kind: 'registration', meter: { meterId, identityPublicKey: id, registeredAtMs: 1, certificate: new Uint8Array(150), certificateSignature: new Uint8Array(64) } } });
      batch.push({ entry: utf8.encode(`binding ${meterId}`.padEnd(135, '.')), effect: { kind: 'carried-binding', binding: { meterId, keyId: new Uint8Array(8).fill(i % 251), sessionPublicKey: new Uint8Array(32).fill(i % 251), firstSeq: 1n } } });
    }
    void first;
    log.appendBatch(batch);
  }
  log.checkpointNow();
  const before = statSync(set.current.path).size;
  now = Date.UTC(2026, 11, 1, 0, 0, 1);
  const t0 = performance.now();
  set.maybeRotate();
  const ms = performance.now() - t0;
  const carried = log.size - 1n;
  console.log(JSON.stringify({ meters, carriedEntries: Number(carried), rotationMs: Math.round(ms), entriesPerSecond: Math.round(Number(carried) / (ms / 1000)), oldFileBytes: before, newFileBytes: statSync(set.current.path).size }));
  store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
