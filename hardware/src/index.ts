// @meterseal/hardware: meter register maps as data, their validation, and register decoding.
export { HardwareError } from './errors.js';
export {
  parseProfile,
  registerWords,
  meterProfileSchema,
  registerDefSchema,
  serialLineSchema,
  TARGET_UNITS,
  QUANTITIES,
  QUANTITY_UNITS,
  REGISTER_TYPES,
  type MeterProfile,
  type RegisterDef,
  type TargetUnit,
  type Quantity,
  type RegisterType,
} from './schema.js';
export { loadProfile, loadDlt645Profile, listProfiles } from './profiles.js';
export {
  parseDlt645Profile,
  isDlt645ProfileData,
  dlt645ProfileSchema,
  dlt645IdentifierDefSchema,
  type Dlt645Profile,
  type Dlt645IdentifierDef,
} from './dlt645-schema.js';
export { decodeRegister, encodeRegister, type DecodedValue } from './codec.js';
export { readBlocks, splitBlock, MAX_READ_REGISTERS, type ReadBlock, type BlockEntry } from './blocks.js';
export { loadDlmsProfile, parseDlmsProfile, isDlmsProfileData, dlmsProfileSchema, dlmsRegisterDefSchema, type DlmsProfile, type DlmsRegisterDef } from './dlms-profile.js';
