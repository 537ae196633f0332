// Fuzzing the witness's add-checkpoint input (c2sp.org/tlog-witness §add-checkpoint, issue 8 item 2):
// parseAddCheckpointRequest on random bytes and on mutations of a valid body (old line, proof lines, signed
// checkpoint note), and the whole decision Witness.addCheckpoint over a real SQLite store. The parser gives a
// request or a WitnessError with a string code; the witness answers every body with a c2sp status (200, 4xx)
// and one of its refusal codes — never an exception.
import t from 'tap';
import fc from 'fast-check';
import pino from 'pino';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cosignatureSigner, encodePreviousLog, encodeVerifierKey, fuzzParams, generateKeyPair, mutateBytes, noteSigner, signCheckpoint, valueOrTyped } from '@meterseal/protocol';
import { REFUSAL_STATUS, WitnessError } from './errors.js';
import { formatAddCheckpointRequest, parseAddCheckpointRequest } from './request.js';
import { SqliteWitnessStore } from './sqlite-store.js';
import { Witness } from './witness.js';

const ORIGIN = 'meterseal.test/ledger';
const log = generateKeyPair();
const signer = noteSigner(ORIGIN, log.secretKey);
const note = (size: bigint, root = new Uint8Array(32).fill(3)) => signCheckpoint({ origin: ORIGIN, size, root, extensions: [] }, signer);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const BASE = 'meterseal.test/rot'; // a rotating ledger with the same key: its period logs "<BASE>/<period>"
const rotSigner = noteSigner(BASE, log.secretKey);
const periodNote = (period: string, size: bigint) => signCheckpoint({ origin: `${BASE}/${period}`, size, root: new Uint8Array(32).fill(6), extensions: [] }, rotSigner);
const seeds = [
  enc(formatAddCheckpointRequest(0n, [], note(5n))),
  enc(formatAddCheckpointRequest(5n, [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)], note(9n))),
  enc(formatAddCheckpointRequest(2n, [new Uint8Array(32)], note(2n))),
  // the period link extension (README "Ledgers that rotate their log"): a PreviousLog entry 0 committing a checkpoint
  enc(formatAddCheckpointRequest(0n, [], periodNote('2026-11', 4n))),
  enc(formatAddCheckpointRequest(0n, [], periodNote('2026-12', 3n), {
    groups: [{ entry: encodePreviousLog({ origin: `${BASE}/2026-12`, closedAtMs: 1n, carried: 0n, checkpoint: periodNote('2026-11', 9n) }), proof: [new Uint8Array(32).fill(4)] }],
    consistency: [new Uint8Array(32).fill(5)],
  })),
];
const body = fc.oneof(
  fc.uint8Array({ maxLength: 400 }),
  fc.tuple(fc.constantFrom('old 0', 'old 5', 'old 01', 'old -1', 'old 18446744073709551616', 'old', ''), fc.array(fc.oneof(fc.base64String({ maxLength: 48 }), fc.string({ maxLength: 10 })), { maxLength: 4 }), fc.string({ maxLength: 120 }))
    .map(([old, proof, rest]) => enc(`${old}\n${proof.join('\n')}${proof.length ? '\n' : ''}\n${rest}`)),
  fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.nat(), fc.nat(255)).map(([b, o, a, v]) => mutateBytes(b, o, a, v)),
  fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat(255)), { minLength: 2, maxLength: 4 })).map(([b, ms]) => ms.reduce((x, [o, a, v]) => mutateBytes(x, o, a, v), b)),
);

t.test('parseAddCheckpointRequest: a request or a WitnessError', async (t) => {
  for (const s of seeds) t.doesNotThrow(() => parseAddCheckpointRequest(s), 'the seed bodies parse');
  fc.assert(fc.property(body, (b) => valueOrTyped(WitnessError, () => parseAddCheckpointRequest(b))), fuzzParams(2000));
  t.pass('typed');
});

t.test('Witness.addCheckpoint: every body gets a c2sp status and a refusal code, never an exception', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'witness-fuzz-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cosigner = cosignatureSigner('witness.test/w1', generateKeyPair().secretKey);
  const store = new SqliteWitnessStore(join(dir, 'witness.sqlite'), cosigner.publicKey);
  t.teardown(() => store.close());
  const vkey = encodeVerifierKey(ORIGIN, log.publicKey);
  // the same log as an exact origin, and (as the base of) a rotating ledger: both answer every body with a c2sp status
  const witness = new Witness({ store, signer: cosigner, logs: [{ origin: ORIGIN, verifierKey: vkey }, { origin: BASE, verifierKey: encodeVerifierKey(BASE, log.publicKey), rotates: true }], log: pino({ level: 'silent' }), now: () => Date.UTC(2026, 10, 21) });
  t.equal(witness.addCheckpoint(seeds[0]!).status, 200, 'the first seed is cosigned, so later bodies meet a stored head');
  t.equal(witness.addCheckpoint(seeds[3]!).status, 200, 'and the rotating ledger\'s period 2026-11, so a later period needs a link');
  let cosigned = 0;
  fc.assert(
    fc.property(body, (b) => {
      const r = witness.addCheckpoint(b);
      if (r.status === 200) return ++cosigned > 0;
      return REFUSAL_STATUS[r.code] === r.status;
    }),
    fuzzParams(1000),
  );
  t.pass(`only c2sp answers (${cosigned} more cosigned)`);
});
