// Groups a profile's registers into as few read requests as the protocol and the meter allow.
import { HardwareError } from './errors.js';
import { registerWords, type MeterProfile, type RegisterDef } from './schema.js';

/** Modbus Application Protocol V1.1b3 §6.3/§6.4: a read asks for 1..125 (0x7D) registers. */
export const MAX_READ_REGISTERS = 125;

export interface BlockEntry {
  def: RegisterDef;
  /** Position of the register's first word inside the block, in registers. */
  offset: number;
}

export interface ReadBlock {
  functionCode: 3 | 4;
  /** First register address of the request. */
  address: number;
  /** Number of registers to request. */
  quantity: number;
  registers: BlockEntry[];
}

/**
 * Contiguous runs of mapped registers with the same function code, split at the per-request limit.
 * Blocks never span unmapped addresses: a strict meter answers exception 02 for those.
 */
export function readBlocks(profile: Pick<MeterProfile, 'registers' | 'maxRegistersPerRead'>): ReadBlock[] {
  const limit = Math.min(MAX_READ_REGISTERS, profile.maxRegistersPerRead);
  const sorted = [...profile.registers].sort((a, b) => a.functionCode - b.functionCode || a.address - b.address);
  const blocks: ReadBlock[] = [];
  let current: ReadBlock | undefined;
  for (const def of sorted) {
    const words = registerWords(def);
    const contiguous =
      current !== undefined &&
      current.functionCode === def.functionCode &&
      current.address + current.quantity === def.address &&
      current.quantity + words <= limit;
    if (current && contiguous) {
      current.registers.push({ def, offset: current.quantity });
      current.quantity += words;
    } else {
      current = { functionCode: def.functionCode, address: def.address, quantity: words, registers: [{ def, offset: 0 }] };
      blocks.push(current);
    }
  }
  return blocks;
}

/** Cuts a block's response data (2 × quantity bytes, as on the wire) into each register's raw bytes. */
export function splitBlock(block: ReadBlock, data: Uint8Array): Array<{ def: RegisterDef; raw: Uint8Array }> {
  if (data.length !== block.quantity * 2) {
    throw new HardwareError('BLOCK_LENGTH', `block @${block.address}: expected ${block.quantity * 2} bytes, got ${data.length}`);
  }
  return block.registers.map(({ def, offset }) => ({
    def,
    raw: data.slice(offset * 2, (offset + registerWords(def)) * 2),
  }));
}
