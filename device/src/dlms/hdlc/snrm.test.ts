import t from 'tap';
import fc from 'fast-check';
import { DlmsError } from './errors.js';
import { parseFrame } from './frame.js';
import { hex, sessions, toHex } from './fixtures.js';
import { DEFAULT_PARAMETERS, encodeParameters, isDefault, negotiate, parametersOf, parseParameters } from './snrm.js';

t.test('the captured UA states the defaults 128/128/1/1, and encodeParameters gives the same bytes', async (t) => {
  for (const s of sessions) {
    const ua = parseFrame(s.frames[1]!.bytes);
    t.same(parseParameters(ua.information), DEFAULT_PARAMETERS, s.name);
  }
  const captured = parseFrame(sessions[0]!.frames[1]!.bytes).information!;
  t.equal(toHex(encodeParameters()), toHex(captured), '81 80 12 | 05 01 80 | 06 01 80 | 07 04 00000001 | 08 04 00000001');
});

t.test('no information field (the captured SNRM) means the defaults', async (t) => {
  t.same(parseParameters(undefined), DEFAULT_PARAMETERS);
  t.same(parseParameters(new Uint8Array(0)), DEFAULT_PARAMETERS);
  t.ok(isDefault(parseParameters()));
});

t.test('values of 1, 2 or 4 bytes; unknown parameters skipped; missing ones default', async (t) => {
  t.same(parseParameters(hex('81800a 0502 0200 0604 00000100')), { maxInfoTx: 512, maxInfoRx: 256, windowTx: 1, windowRx: 1 });
  t.same(parseParameters(hex('818009 0701 07 0301 00 0801 03')), { maxInfoTx: 128, maxInfoRx: 128, windowTx: 7, windowRx: 3 });
  t.equal(toHex(encodeParameters({ maxInfoTx: 512, maxInfoRx: 2030 })), '818014' + '05020200' + '060207ee' + '070400000001' + '080400000001');
});

t.test('bad negotiation fields throw PARAMETER', async (t) => {
  const bad = [
    '81', // shorter than its header
    '828003050180', // format identifier
    '818103050180', // group identifier
    '818004050180', // group length too long
    '818002050180', // group length too short
    '81800305', // parameter header runs past the group
    '8180030503', // value runs past the group
    '81800505030000 80', // 3-byte value
    '818003 070100', // window 0
    '818003 070108', // window 8
    '818003 050100', // max info 0
  ];
  for (const h of bad) t.throws(() => parseParameters(hex(h)), { code: 'PARAMETER' }, h);
  t.throws(() => encodeParameters({ maxInfoTx: 31 }), { code: 'PARAMETER' });
  t.throws(() => encodeParameters({ maxInfoRx: 2031 }), { code: 'PARAMETER' });
  t.throws(() => parametersOf({ windowTx: 8 }), { code: 'PARAMETER' });
});

t.test('negotiation: the client sends no more than the server receives, and vice versa', async (t) => {
  const proposal = { maxInfoTx: 1024, maxInfoRx: 256, windowTx: 1, windowRx: 1 };
  const answer = { maxInfoTx: 512, maxInfoRx: 128, windowTx: 7, windowRx: 7 };
  t.same(negotiate(proposal, answer), { maxInfoTx: 128, maxInfoRx: 256, windowTx: 1, windowRx: 1 });
});

t.test('property: parse(encode(p)) = p in range; parse of arbitrary bytes throws only DlmsError', async (t) => {
  const p = fc.record({
    maxInfoTx: fc.integer({ min: 32, max: 2030 }),
    maxInfoRx: fc.integer({ min: 32, max: 2030 }),
    windowTx: fc.integer({ min: 1, max: 7 }),
    windowRx: fc.integer({ min: 1, max: 7 }),
  });
  fc.assert(fc.property(p, (x) => JSON.stringify(parseParameters(encodeParameters(x))) === JSON.stringify(x)));
  const arbitrary = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 30 }).map((b) => Uint8Array.from([0x81, 0x80, b.length, ...b])));
  fc.assert(
    fc.property(arbitrary, (b) => {
      try {
        parseParameters(b);
        return true;
      } catch (err) {
        return err instanceof DlmsError;
      }
    }),
  );
  t.pass('properties held');
});
