import t from 'tap';
import { readBlocks, splitBlock } from './blocks.js';
import { loadProfile } from './profiles.js';
import type { MeterProfile, RegisterDef } from './schema.js';

const reg = (name: string, address: number, functionCode: 3 | 4 = 3, type: RegisterDef['type'] = 'float32'): RegisterDef => ({
  name, quantity: 'voltage', obis: `1.0.${address % 256}.7.0.255`, address, functionCode, type, wordOrder: 'big',
  sourceUnit: 'V', sourceScaler: 0, unit: 'V', scaler: 0,
});

t.test('DDSU666: contiguous registers share a request, gaps start a new one', async (t) => {
  const blocks = readBlocks(loadProfile('chint-ddsu666'));
  t.same(
    blocks.map((b) => [b.functionCode, b.address, b.quantity, b.registers.map((r) => r.def.name)]),
    [
      [3, 0x2000, 8, ['voltage', 'current', 'active_power', 'reactive_power']],
      [3, 0x200a, 2, ['power_factor']],
      [3, 0x200e, 2, ['frequency']],
      [3, 0x4000, 2, ['active_energy_import']],
      [3, 0x400a, 2, ['active_energy_export']],
    ],
  );
  t.same(blocks[0]!.registers.map((r) => r.offset), [0, 2, 4, 6]);
});

t.test('function codes never mix, order of definition does not matter, limit is respected', async (t) => {
  const profile: Pick<MeterProfile, 'registers' | 'maxRegistersPerRead'> = {
    maxRegistersPerRead: 4,
    registers: [reg('c', 4, 3), reg('a', 0, 3), reg('b', 2, 3), reg('d', 0, 4), reg('e', 2, 4, 'uint16'), reg('f', 3, 4, 'int16')],
  };
  const blocks = readBlocks(profile);
  t.same(
    blocks.map((b) => [b.functionCode, b.address, b.quantity]),
    [[3, 0, 4], [3, 4, 2], [4, 0, 4]],
  );
});

t.test('a long contiguous map splits at 125 registers per request', async (t) => {
  const registers = Array.from({ length: 100 }, (_, i) => reg(`r${i}`, i * 2));
  const blocks = readBlocks({ registers, maxRegistersPerRead: 125 });
  t.same(blocks.map((b) => [b.address, b.quantity]), [[0, 124], [124, 76]]);
  t.ok(blocks.every((b) => b.quantity <= 125));
});

t.test('splitBlock hands each register exactly its bytes', async (t) => {
  const [block] = readBlocks(loadProfile('chint-ddsu666'));
  const data = Uint8Array.from({ length: 16 }, (_, i) => i);
  const parts = splitBlock(block!, data);
  t.same(parts.map((p) => [p.def.name, Array.from(p.raw)]), [
    ['voltage', [0, 1, 2, 3]], ['current', [4, 5, 6, 7]], ['active_power', [8, 9, 10, 11]], ['reactive_power', [12, 13, 14, 15]],
  ]);
  t.throws(() => splitBlock(block!, data.subarray(1)), { code: 'BLOCK_LENGTH' });
});
