// Fuzzing every binary record decoder and every text parser of the protocol package (issue 8 item 2): any
// input gives either a value or a ProtocolError with a string code — never another exception, never a hang.
// Short pass by default; METERSEAL_FUZZ_RUNS=1000000 (npm run fuzz) for the long one.
import t from 'tap';
import fc from 'fast-check';
import * as p from './index.js';
import { fuzzParams, mutateBytes } from './fuzz-runs.js';
import { workedExample } from './worked-example.js';

const binary: Array<[string, number, (b: Uint8Array) => unknown]> = [
  ['Reading', p.RecordType.Reading, p.decodeReading],
  ['Anchor', p.RecordType.Anchor, p.decodeAnchor],
  ['RegistrationRequest', p.RecordType.RegistrationRequest, p.decodeRegistrationRequest],
  ['AuthResult', p.RecordType.AuthResult, p.decodeAuthResult],
  ['KeyBinding', p.RecordType.KeyBinding, p.decodeKeyBinding],
  ['IdentityCertificate', p.RecordType.IdentityCertificate, p.decodeIdentityCertificate],
  ['AuthResponse', p.RecordType.AuthResponse, p.decodeAuthResponse],
  ['Registration', p.RecordType.Registration, p.decodeRegistration],
  ['Revocation', p.RecordType.Revocation, p.decodeRevocation],
  ['MeterExchangeApproval', p.RecordType.MeterExchangeApproval, p.decodeMeterExchangeApproval],
  ['AuthSummary', p.RecordType.AuthSummary, p.decodeAuthSummary],
  ['Delivery', p.RecordType.Delivery, p.decodeDelivery],
  ['KeyAnnouncement', p.RecordType.KeyAnnouncement, p.decodeKeyAnnouncement],
  ['Gap', p.RecordType.Gap, p.decodeGap],
  ['GapDelivery', p.RecordType.Delivery, p.decodeGapDelivery],
  ['Correction', p.RecordType.Correction, p.decodeCorrection],
  ['CorrectionDelivery', p.RecordType.Delivery, p.decodeCorrectionDelivery],
  ['InclusionPromise', p.RecordType.InclusionPromise, p.decodeInclusionPromise],
  ['AirgapWindow', p.RecordType.AirgapWindow, p.decodeAirgapWindow],
  ['TechnicianCredential', p.RecordType.TechnicianCredential, p.decodeTechnicianCredential],
  ['OperatorCredential', p.RecordType.OperatorCredential, p.decodeOperatorCredential],
  ['IndexLeaf', 0, p.decodeIndexLeaf],
];

const text: Array<[string, (s: string) => unknown]> = [
  ['checkpoint body', p.parseCheckpointText],
  ['signed note', p.parseNote],
  ['note verifier key', p.parseVerifierKey],
  ['cosignature verifier key', p.parseCosignatureVerifierKey],
  ['tlog-proof', p.parseTlogProof],
  ['OBIS code', p.parseObis],
  ['technician scope entry', p.parseScopeEntry],
];

/** Runs `f`; a throw must be a ProtocolError with a non-empty string code. */
function typedOrValue(f: () => unknown): boolean {
  try {
    f();
    return true;
  } catch (err) {
    if (err instanceof p.ProtocolError && typeof err.code === 'string' && err.code.length > 0) return true;
    throw new Error(`not a typed ProtocolError: ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
  }
}

const example = workedExample();
const valid: Record<string, Uint8Array> = { Reading: example.readingBytes, Anchor: example.anchorBytes, Delivery: example.delivery };

t.test('binary record decoders: arbitrary bytes after a correct type and version byte', async (t) => {
  for (const [name, type, decode] of binary) {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (body, header) => {
        const bytes = header ? Uint8Array.from([type, p.VERSION_1, ...body]) : body;
        return typedOrValue(() => decode(bytes));
      }),
      fuzzParams(150),
    );
    t.pass(`${name}: only values or ProtocolErrors`);
  }
});

t.test('mutations of valid encodings (bit flips, truncations, length fields) are values or ProtocolErrors', async (t) => {
  const decoders: Record<string, (b: Uint8Array) => unknown> = { Reading: p.decodeReading, Anchor: p.decodeAnchor, Delivery: p.decodeDelivery };
  for (const [name, bytes] of Object.entries(valid)) {
    t.ok(typedOrValue(() => decoders[name]!(bytes)), `${name}: the valid sample decodes`);
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.nat(255), (op, at, value) => typedOrValue(() => decoders[name]!(mutateBytes(bytes, op, at, value)))),
      fuzzParams(300),
    );
    t.pass(`${name}: mutations give values or ProtocolErrors`);
  }
});

t.test('a mutated reading that still decodes re-encodes to the same bytes (the encoding is canonical)', async (t) => {
  fc.assert(
    fc.property(fc.nat(), fc.nat(), fc.nat(255), (op, at, value) => {
      const bytes = mutateBytes(example.readingBytes, op, at, value);
      let decoded: p.Reading;
      try {
        decoded = p.decodeReading(bytes);
      } catch (err) {
        return err instanceof p.ProtocolError;
      }
      return Buffer.from(p.encodeReading(decoded)).equals(Buffer.from(bytes));
    }),
    fuzzParams(300),
  );
  t.pass('canonical');
});

t.test('text parsers (checkpoints, notes, keys, tlog-proof, OBIS, scopes): arbitrary text is a value or a ProtocolError', async (t) => {
  const lines = fc.array(fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('', '— ', 'meterseal.test/ledger', '5', 'index 3', 'c2sp.org/tlog-proof@v1', 'a+b+c')), { maxLength: 8 }).map((l) => l.join('\n'));
  for (const [name, parse] of text) {
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 300 }), lines), (s) => typedOrValue(() => parse(s))), fuzzParams(200));
    t.pass(`${name}: only values or ProtocolErrors`);
  }
});
