import t from 'tap';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPtyPair, socatAvailable } from './pty.js';
import { ByteCollector, closeSerial, openSerialClient } from './test-helpers.js';

const hasSocat = await socatAvailable();
const pty = hasSocat ? {} : { skip: 'socat is not installed (apt-get install -y socat)' };

t.test('createPtyPair gives two wired /dev/pts devices; close removes them', pty, async (t) => {
  const pair = await createPtyPair();
  t.teardown(() => pair.close());
  t.match(pair.a, /^\/dev\/pts\/\d+$/);
  t.match(pair.b, /^\/dev\/pts\/\d+$/);
  t.not(pair.a, pair.b);
  const a = await openSerialClient(pair.a);
  t.teardown(() => closeSerial(a));
  const b = await openSerialClient(pair.b);
  t.teardown(() => closeSerial(b));
  const rx = new ByteCollector(b);
  const bytes = Buffer.from([0x00, 0x01, 0x0a, 0x0d, 0x11, 0x13, 0x7f, 0xff]); // raw: no newline/flow-control mangling
  a.write(bytes);
  t.same(await rx.take(bytes.length), bytes);
  await closeSerial(a);
  await closeSerial(b);
  await pair.close();
  t.notOk(existsSync(pair.a) && existsSync(pair.b), 'ptys are gone after close');
  await pair.close(); // idempotent
});

t.test('a missing socat is reported as such', async (t) => {
  t.equal(await socatAvailable('/nonexistent/socat'), false);
  await t.rejects(createPtyPair({ socat: '/nonexistent/socat' }), { name: 'SimulatorError', code: 'SOCAT_MISSING' });
});

t.test('a socat that never reports ptys times out with a clear error', async (t) => {
  // `true` exits at once without printing: PTY_FAILED; a stand-in that stays silent: PTY_TIMEOUT.
  await t.rejects(createPtyPair({ socat: 'true' }), { code: 'PTY_FAILED', message: /exited/ });
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-pty-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const silent = join(dir, 'silent-socat');
  writeFileSync(silent, '#!/bin/sh\nexec sleep 30\n');
  chmodSync(silent, 0o755);
  await t.rejects(createPtyPair({ socat: silent, timeoutMs: 200 }), { code: 'PTY_TIMEOUT', message: /two ptys/ });
});
