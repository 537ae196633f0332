// A real meter's energy register survives a power cycle; so does the simulator's when it has a --data-dir.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { CliError } from '../errors.js';

const SimState = z.object({ energyImportWh: z.number().min(0).max(1e15), savedAt: z.string() }).strict();

export function stateFile(dataDir: string): string {
  return join(dataDir, 'sim-state.json');
}

export function loadSimState(dataDir: string): number | undefined {
  const path = stateFile(dataDir);
  if (!existsSync(path)) return undefined;
  const r = SimState.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!r.success) throw new CliError('SIM_STATE_INVALID', `${path}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data.energyImportWh;
}

/** Atomic write (temp file + rename), so a crash never leaves half a state file. */
export function saveSimState(dataDir: string, energyImportMilliWh: bigint): void {
  mkdirSync(dataDir, { recursive: true });
  const path = stateFile(dataDir);
  const body = { energyImportWh: Number(energyImportMilliWh) / 1000, savedAt: new Date().toISOString() };
  writeFileSync(`${path}.tmp`, JSON.stringify(body) + '\n');
  renameSync(`${path}.tmp`, path);
}
