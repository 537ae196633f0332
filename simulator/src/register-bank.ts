// The simulator's register space: the profile's registers, filled from one model snapshot per request.
import { encodeRegister, registerWords, type MeterProfile, type RegisterDef } from '@meterseal/hardware';
import type { MeterSnapshot } from './meter-model.js';

interface Slot {
  def: RegisterDef;
  word: number;
}

/** Physical value (in the register's target unit) the model gives for a register definition. */
export function physicalValue(def: RegisterDef, s: MeterSnapshot, serialNumber = 0): number {
  if ((def.quantity as string) === 'serial_number') return serialNumber; // an identity, not a measurement
  switch (def.quantity) {
    case 'voltage':
      return s.voltageV;
    case 'current':
      return s.currentA;
    case 'active_power':
      return s.activePowerW;
    case 'reactive_power':
      return s.reactivePowerVar;
    case 'apparent_power':
      return s.apparentPowerVA;
    case 'power_factor':
      return s.powerFactor;
    case 'frequency':
      return s.frequencyHz;
    case 'active_energy': {
      // OBIS value group C (IEC 62056-6-1): 1 = import (+A), 2 = export (−A), 15 = |+A| + |−A|, 16 = +A − (−A)
      const c = Number(def.obis.split('.')[2]);
      const imp = s.energyImportMilliWh;
      const exp = s.energyExportMilliWh;
      const mWh = c === 2 ? exp : c === 15 ? imp + exp : c === 16 ? imp - exp : imp;
      return Number(mWh) / 1000;
    }
    case 'transformer_ratio':
      return 1; // a directly connected meter: no current or voltage transformer
    default:
      return 0; // reactive/apparent energy: this household does not model them
  }
}

export class RegisterBank {
  private readonly slots = new Map<number, Map<number, Slot>>();

  private readonly serialNumber: number;

  constructor(readonly profile: MeterProfile, options: { serialNumber?: number } = {}) {
    this.serialNumber = options.serialNumber ?? 0;
    for (const def of profile.registers) {
      let table = this.slots.get(def.functionCode);
      if (!table) this.slots.set(def.functionCode, (table = new Map()));
      for (let w = 0; w < registerWords(def); w++) table.set(def.address + w, { def, word: w });
    }
  }

  /**
   * The 2 × quantity data bytes for a read, or null when any address in the range is not mapped for this
   * function code (the caller answers exception 02, Modbus Application Protocol V1.1b3 §6.3).
   */
  read(functionCode: number, address: number, quantity: number, snapshot: MeterSnapshot): Uint8Array | null {
    const table = this.slots.get(functionCode);
    if (!table || address + quantity > 0x10000) return null;
    const out = new Uint8Array(quantity * 2);
    const encoded = new Map<RegisterDef, Uint8Array>();
    for (let i = 0; i < quantity; i++) {
      const slot = table.get(address + i);
      if (!slot) return null;
      let bytes = encoded.get(slot.def);
      if (!bytes) encoded.set(slot.def, (bytes = encodeRegister(slot.def, physicalValue(slot.def, snapshot, this.serialNumber))));
      out[i * 2] = bytes[slot.word * 2]!;
      out[i * 2 + 1] = bytes[slot.word * 2 + 1]!;
    }
    return out;
  }
}
