// @meterseal/hardware: meter register maps as data, their validation, and register decoding.
export { HardwareError } from './errors.js';
export {
  parseProfile,
  registerWords,
  meterProfileSchema,
  registerDefSchema,
  TARGET_UNITS,
  QUANTITIES,
  REGISTER_TYPES,
  type MeterProfile,
  type RegisterDef,
  type TargetUnit,
  type Quantity,
  type RegisterType,
} from './schema.js';
export { loadProfile, listProfiles } from './profiles.js';
export { decodeRegister, encodeRegister, type DecodedValue } from './codec.js';
export { readBlocks, splitBlock, MAX_READ_REGISTERS, type ReadBlock, type BlockEntry } from './blocks.js';
