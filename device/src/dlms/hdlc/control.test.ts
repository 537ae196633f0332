import t from 'tap';
import { decodeControl, encodeControl, type HdlcControl } from './control.js';
import { DlmsError } from './errors.js';

t.test('control bytes of the captured sessions', async (t) => {
  const cases: [number, HdlcControl][] = [
    [0x93, { kind: 'SNRM', pf: true }],
    [0x73, { kind: 'UA', pf: true }],
    [0x53, { kind: 'DISC', pf: true }],
    [0x10, { kind: 'I', pf: true, ns: 0, nr: 0 }],
    [0x52, { kind: 'I', pf: true, ns: 1, nr: 2 }],
    [0x51, { kind: 'RR', pf: true, nr: 2 }],
    [0x1f, { kind: 'DM', pf: true }],
    [0x97, { kind: 'FRMR', pf: true }],
    [0x13, { kind: 'UI', pf: true }],
    [0x03, { kind: 'UI', pf: false }],
    [0xb5, { kind: 'RNR', pf: true, nr: 5 }],
    [0xfe, { kind: 'I', pf: true, ns: 7, nr: 7 }],
  ];
  for (const [byte, c] of cases) {
    t.same(decodeControl(byte), c, `0x${byte.toString(16)}`);
    t.equal(encodeControl(c), byte);
  }
});

t.test('all 256 control bytes: either unsupported (CONTROL) or re-encoded identically', async (t) => {
  let supported = 0;
  for (let b = 0; b < 256; b++) {
    try {
      t.equal(encodeControl(decodeControl(b)), b);
      supported++;
    } catch (err) {
      t.ok(err instanceof DlmsError && err.code === 'CONTROL', `0x${b.toString(16)}`);
    }
  }
  t.equal(supported, 128 + 16 + 16 + 12, 'I (128), RR (16), RNR (16), 6 unnumbered x P/F');
});

t.test('sequence numbers are modulo 8', async (t) => {
  t.throws(() => encodeControl({ kind: 'I', pf: true, ns: 8, nr: 0 }), { code: 'CONTROL' });
  t.throws(() => encodeControl({ kind: 'RR', pf: true, nr: -1 }), { code: 'CONTROL' });
  t.throws(() => encodeControl({ kind: 'XX' } as unknown as HdlcControl), { code: 'CONTROL' });
});
