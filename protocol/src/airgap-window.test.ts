// AirgapWindow v1: round trip, signature, and hostile bytes (typed errors, never a hang).
import fc from 'fast-check';
import t from 'tap';
import { generateKeyPair } from './ed25519.js';
import { ProtocolError } from './errors.js';
import { decodeAirgapWindow, encodeAirgapWindow, signAirgapWindow, verifyAirgapWindow, type AirgapWindowRecord } from './airgap-window.js';

const open: AirgapWindowRecord = {
  event: 'open',
  windowId: '0f8fad5b-d9cb-469f-a165-70867728950e',
  reason: 'scheduled reconciliation',
  driver: 'relay',
  openedAtMs: 1_780_000_000_000n,
  closesAtMs: 1_780_000_060_000n,
};
const close: AirgapWindowRecord = {
  ...open,
  event: 'close',
  close: { closedAtMs: 1_780_000_041_310n, closedBy: 'requested', bytesToTarget: 1834n, bytesFromTarget: 922_117n, refusedRequests: 2 },
};

t.test('round trip, layout and signature', async (t) => {
  const bytes = encodeAirgapWindow(open);
  t.equal(bytes[0], 0x14, 'type byte (record-types.ts AirgapWindow)');
  t.equal(bytes[1], 1);
  t.equal(bytes.length, 3 + 16 + 1 + open.reason.length + 1 + 5 + 16);
  t.same(decodeAirgapWindow(bytes), open);
  t.same(decodeAirgapWindow(encodeAirgapWindow(close)), close);
  const keys = generateKeyPair();
  const signed = signAirgapWindow(close, keys.secretKey);
  t.same(verifyAirgapWindow(signed, keys.publicKey), close);
  t.throws(() => verifyAirgapWindow(signed, generateKeyPair().publicKey), { code: 'BAD_SIGNATURE' });
  const flipped = Uint8Array.from(signed);
  flipped[25] = flipped[25]! ^ 1;
  t.throws(() => verifyAirgapWindow(flipped, keys.publicKey), ProtocolError);
});

t.test('invalid records are refused with typed errors', async (t) => {
  t.throws(() => encodeAirgapWindow({ ...open, reason: '' }), { code: 'BAD_AIRGAP_WINDOW' });
  t.throws(() => encodeAirgapWindow({ ...open, reason: 'a\nb' }), { code: 'BAD_AIRGAP_WINDOW' });
  t.throws(() => encodeAirgapWindow({ ...open, windowId: 'nope' }), { code: 'BAD_AIRGAP_WINDOW' });
  t.throws(() => encodeAirgapWindow({ ...open, close: close.close }), { code: 'BAD_AIRGAP_WINDOW' });
  t.throws(() => encodeAirgapWindow({ ...close, close: undefined }), { code: 'BAD_AIRGAP_WINDOW' });
  const bytes = encodeAirgapWindow(close);
  t.throws(() => decodeAirgapWindow(bytes.subarray(0, bytes.length - 1)), { code: 'TRUNCATED' });
  t.throws(() => decodeAirgapWindow(Uint8Array.from([...bytes, 0])), { code: 'TRAILING_BYTES' });
  const badBy = Uint8Array.from(bytes);
  badBy[bytes.length - 21] = 9;
  t.throws(() => decodeAirgapWindow(badBy), { code: 'BAD_AIRGAP_WINDOW' });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
      try {
        decodeAirgapWindow(Uint8Array.from([0x14, 1, ...b]));
        return true;
      } catch (err) {
        return err instanceof ProtocolError;
      }
    }),
    { numRuns: 3000 },
  );
});
