import t from 'tap';
import { loadDlt645Profile } from '@meterseal/hardware';
import { DLT645_IDENTIFIERS, SINGLE_PHASE_DIS, decodeIdentifierValue, findIdentifier, parseFormat } from './identifiers.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/ /g, ''), 'hex'));

t.test('the shipped profile agrees with the standard table, field by field', async (t) => {
  const profile = loadDlt645Profile('dlt645-single-phase');
  t.same(profile.identifiers.map((d) => d.di), SINGLE_PHASE_DIS, 'same identifiers, same order');
  for (const d of profile.identifiers) {
    const def = findIdentifier(d.di)!;
    t.same(
      { name: d.name, obis: d.obis, format: d.format, length: d.length, decimals: d.decimals, signed: d.signed, sourceUnit: d.sourceUnit, sourceScaler: d.sourceScaler, unit: d.unit, scaler: d.scaler },
      { name: def.name, obis: def.obis, format: def.format, length: def.length, decimals: def.decimals, signed: def.signed, sourceUnit: def.sourceUnit, sourceScaler: def.sourceScaler, unit: def.unit, scaler: def.scaler },
      d.di,
    );
  }
});

t.test('the table is consistent: unique DI and OBIS, lengths from formats, scalers exact', async (t) => {
  t.equal(new Set(DLT645_IDENTIFIERS.map((d) => d.di)).size, DLT645_IDENTIFIERS.length);
  t.equal(new Set(DLT645_IDENTIFIERS.map((d) => d.obis)).size, DLT645_IDENTIFIERS.length);
  t.same(parseFormat('XXXXXX.XX'), { digits: 8, decimals: 2 });
  t.same(parseFormat('XXXX'), { digits: 4, decimals: 0 });
  t.throws(() => parseFormat('XXX.XX'), { code: 'PROTOCOL' });
  t.match(findIdentifier('00010000'), { obis: '1.0.1.8.0.255', length: 4, decimals: 2, unit: 'Wh', scaler: 0 });
  t.match(findIdentifier('00000000'), { obis: '1.0.15.8.0.255', signed: true });
  t.match(findIdentifier('02020100'), { length: 3, unit: 'A', scaler: -3, signed: true });
  t.match(findIdentifier('02030000'), { length: 3, unit: 'W', scaler: -1, signed: true });
  t.match(findIdentifier('02800002'), { length: 2, unit: 'Hz', scaler: -2 });
  t.equal(findIdentifier('0201ff00'), undefined);
});

t.test('values decode exactly, signs included; wrong byte counts are LENGTH', async (t) => {
  t.same(decodeIdentifierValue(findIdentifier('02030000')!, hex('341280')), { value: -1234n, scaler: -1, unit: 'W' }, '−0.1234 kW = −123.4 W');
  t.same(decodeIdentifierValue(findIdentifier('00010000')!, hex('99999999')), { value: 999_999_990n, scaler: 0, unit: 'Wh' }, '999999.99 kWh, the largest register, in Wh');
  t.throws(() => decodeIdentifierValue({ ...findIdentifier('02010100')!, scaler: 0 }, hex('0123')), { code: 'PROTOCOL' }, 'whole volts would drop the tenths');
  t.same(decodeIdentifierValue({ ...findIdentifier('02010100')!, scaler: -2 }, hex('0123')), { value: 23010n, scaler: -2, unit: 'V' }, 'a finer scaler multiplies exactly');
  t.same(decodeIdentifierValue(findIdentifier('02060000')!, hex('9909')), { value: 999n, scaler: -3, unit: '1' }, 'PF 0.999');
  t.throws(() => decodeIdentifierValue(findIdentifier('02010100')!, hex('012300')), { code: 'LENGTH' });
  t.throws(() => decodeIdentifierValue(findIdentifier('02010100')!, hex('0a23')), { code: 'BCD' });
});
