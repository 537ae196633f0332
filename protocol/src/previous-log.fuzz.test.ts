// Fuzzing the PreviousLog (0x16) decoder (CONTRIBUTING "Fuzzing"): arbitrary bytes and mutations of a valid
// record give a value or a ProtocolError with a string code — never another exception, never a hang.
import t from 'tap';
import fc from 'fast-check';
import { ProtocolError } from './errors.js';
import { generateKeyPair } from './ed25519.js';
import { noteSigner } from './note.js';
import { signCheckpoint } from './checkpoint.js';
import { EMPTY_ROOT } from './merkle/hashing.js';
import { fuzzParams, mutateBytes, valueOrTyped } from './fuzz-runs.js';
import { decodePreviousLog, encodePreviousLog } from './previous-log.js';
import { VERSION_1 } from './record-types.js';

/** A value or a typed ProtocolError with a string code (fuzz-runs.ts valueOrTyped). */
const typedOrValue = (f: () => unknown): boolean => valueOrTyped(ProtocolError, f);

const note = signCheckpoint({ origin: 'fuzz.test/log/2026-10', size: 9n, root: EMPTY_ROOT, extensions: [] }, noteSigner('fuzz.test/log', generateKeyPair().secretKey));
const valid = encodePreviousLog({ origin: 'fuzz.test/log/2026-11', closedAtMs: 1n, carried: 3n, checkpoint: note });

t.test('PreviousLog: arbitrary bytes after a correct type and version byte', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (body, header) => typedOrValue(() => decodePreviousLog(header ? Uint8Array.from([0x16, VERSION_1, ...body]) : body))),
    fuzzParams(300),
  );
  t.pass('only values or ProtocolErrors');
});

t.test('PreviousLog: mutations of a valid record (bit flips, truncations, length fields)', async (t) => {
  t.ok(typedOrValue(() => decodePreviousLog(valid)), 'the valid sample decodes');
  let refused = 0;
  fc.assert(
    fc.property(fc.nat(), fc.nat(), fc.nat(255), (op, at, value) => {
      try {
        decodePreviousLog(mutateBytes(valid, op, at, value));
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        refused++;
      }
      return true;
    }),
    fuzzParams(500),
  );
  t.ok(refused > 0, `mutations were refused with typed errors (${refused})`);
});
