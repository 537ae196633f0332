// Profiles live as JSON files in hardware/profiles/, found relative to this module (no cwd dependence).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { HardwareError } from './errors.js';
import { isDlt645ProfileData, parseDlt645Profile, type Dlt645Profile } from './dlt645-schema.js';
import { parseProfile, type MeterProfile } from './schema.js';

const PROFILE_DIR = new URL('../profiles/', import.meta.url);
const PROFILE_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const MAX_PROFILE_BYTES = 256 * 1024;

/** Ids of the profiles shipped in hardware/profiles/, sorted. */
export function listProfiles(): string[] {
  return readdirSync(PROFILE_DIR)
    .filter((f) => f.endsWith('.json') && PROFILE_ID.test(f.slice(0, -5)))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** Reads and parses hardware/profiles/<id>.json (not yet validated). */
function readProfileData(id: string): unknown {
  // The id becomes part of a path: only a strict charset, so no "../" or absolute paths.
  if (typeof id !== 'string' || !PROFILE_ID.test(id)) {
    throw new HardwareError('PROFILE_ID_INVALID', `profile id ${JSON.stringify(String(id).slice(0, 64))} is not [a-z0-9-]`);
  }
  const url = new URL(`${id}.json`, PROFILE_DIR);
  let text: string;
  try {
    const size = statSync(url).size;
    if (size > MAX_PROFILE_BYTES) {
      throw new HardwareError('PROFILE_UNREADABLE', `profile ${id}: ${size} bytes exceeds ${MAX_PROFILE_BYTES}`);
    }
    text = readFileSync(url, 'utf8');
  } catch (err) {
    if (err instanceof HardwareError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new HardwareError('PROFILE_NOT_FOUND', `no profile "${id}" (known: ${listProfiles().join(', ')})`, { cause: err });
    }
    throw new HardwareError('PROFILE_UNREADABLE', `profile ${id}: ${(err as Error).message}`, { cause: err });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new HardwareError('PROFILE_UNREADABLE', `profile ${id}: not JSON: ${(err as Error).message}`, { cause: err });
  }
  return data;
}

function checkId<P extends { id: string }>(id: string, profile: P): P {
  if (profile.id !== id) {
    throw new HardwareError('PROFILE_INVALID', `profile ${id}: id: "${profile.id}" does not match the file name`);
  }
  return profile;
}

/** Reads and validates hardware/profiles/<id>.json, a Modbus register map. */
export function loadProfile(id: string): MeterProfile {
  const data = readProfileData(id);
  if (isDlt645ProfileData(data)) {
    throw new HardwareError('PROFILE_INVALID', `profile ${id}: protocol: a DL/T 645 profile, not a Modbus register map (use loadDlt645Profile)`);
  }
  return checkId(id, parseProfile(data, `profile ${id}`));
}

/** Reads and validates hardware/profiles/<id>.json, a DL/T 645-2007 data-identifier list. */
export function loadDlt645Profile(id: string): Dlt645Profile {
  const data = readProfileData(id);
  if (!isDlt645ProfileData(data)) {
    throw new HardwareError('PROFILE_INVALID', `profile ${id}: protocol: not a DL/T 645 profile (expected "protocol": "dlt645")`);
  }
  return checkId(id, parseDlt645Profile(data, `profile ${id}`));
}
