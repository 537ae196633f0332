// Fuzzing the provisioning console's input path (issue 8 item 2): the bounded LineFramer over random
// chunkings, decodeLine/tokenize, and whole lines through a real ConsoleSession (settings file, audit log
// in a temp dir). Every '\n' gets exactly one framed line, nothing buffered beyond the limit, and every
// line gets one answer whose error (if any) carries a typed code — never INTERNAL, which is what an
// untyped exception inside a command would become.
import t from 'tap';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chunked, fuzzParams, generateKeyPair, valueOrTyped } from '@meterseal/protocol';
import { AgentError } from '../errors.js';
import { decodeLine, LineFramer, tokenize } from './line.js';
import { ConsoleSession, type ConsoleAgent } from './session.js';
import { FileSettingsStore } from './settings.js';

t.test('LineFramer: one framed line per LF whatever the chunking, none longer than the limit', async (t) => {
  const max = 64;
  const bytes = fc.oneof(fc.uint8Array({ maxLength: 400 }), fc.array(fc.oneof(fc.uint8Array({ maxLength: 90 }), fc.constant(Uint8Array.of(0x0d, 0x0a))), { maxLength: 10 }).map((a) => Uint8Array.from(a.flatMap((x) => [...x]))));
  fc.assert(
    fc.property(bytes, fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 6 }), (stream, cuts) => {
      const framer = new LineFramer(max);
      const out = chunked(stream, cuts).flatMap((c) => framer.push(c));
      const lfs = stream.reduce((n, b) => n + (b === 0x0a ? 1 : 0), 0);
      return out.length === lfs && out.every((f) => ('line' in f ? f.line.length <= max : f.tooLong > max));
    }),
    fuzzParams(1000),
  );
  t.pass('one answer per line, bounded');
});

t.test('decodeLine and tokenize: text or an AgentError', async (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 80 }).map((s) => new TextEncoder().encode(s))), (b) =>
      valueOrTyped(AgentError, () => tokenize(decodeLine(b))),
    ),
    fuzzParams(1000),
  );
  t.pass('typed');
});

t.test('ConsoleSession: any line is answered once, errors carry a typed code (never INTERNAL)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'console-fuzz-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const T0 = 1_800_000_000_000;
  const agent: ConsoleAgent = {
    identityPublicKey: () => generateKeyPair().publicKey,
    settings: FileSettingsStore.inDataDir(dir, () => T0),
    readOnce: async () => ({ seq: 1n, energyWh: 2n }),
    register: async () => ({ registrationIndex: 3n }),
    rotateKey: async () => generateKeyPair().publicKey,
  };
  const session = new ConsoleSession(agent, { trustedIssuers: [generateKeyPair().publicKey], auditLogPath: join(dir, 'audit.log'), now: () => T0 });
  const word = fc.oneof(
    fc.constantFrom('help', 'status', 'fingerprint', 'read', 'log', 'auth', 'challenge', 'sign', 'set-meter-id', 'set-account', 'set-endpoints', 'register', 'rotate-key', 'factory-reset', 'confirm'),
    fc.constantFrom('0', '-1', '999999999999', 'ff', '00'.repeat(64), 'mqtt://127.0.0.1:1', 'M-1', '\u00e9', ''),
    fc.string({ maxLength: 20 }),
    fc.uint8Array({ maxLength: 70 }).map((b) => Buffer.from(b).toString('hex')),
  );
  const line = fc.oneof(fc.array(word, { maxLength: 6 }).map((w) => new TextEncoder().encode(w.join(' '))), fc.uint8Array({ maxLength: 120 }));
  let answered = 0;
  await fc.assert(
    fc.asyncProperty(line, async (bytes) => {
      const answer = await session.handle({ line: bytes });
      answered++;
      if (answer.ok) return true;
      return typeof answer.error.code === 'string' && answer.error.code !== 'INTERNAL' && answer.error.code !== 'AUDIT_FAILED';
    }),
    fuzzParams(300),
  );
  t.ok(answered > 0, `${answered} lines answered`);
});
