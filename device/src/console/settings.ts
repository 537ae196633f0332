// Provisioned settings, persisted as JSON in the agent's data dir and validated with zod on load.
import { existsSync, readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { METER_ID_PATTERN } from '@meterseal/protocol';
import { AgentError } from '../errors.js';

export const CONSOLE_SETTINGS_FILE = 'console-settings.json';

export const ConsoleSettings = z.object({
  meterId: z.string().regex(METER_ID_PATTERN, 'meter id must be 1..64 characters of A-Z a-z 0-9 . _ -').optional(),
  customerAccount: z.string().min(1).max(128).optional(),
  ledgerUrl: z.string().url().max(512).optional(),
  collectorUrl: z.string().url().max(512).optional(),
  /** Set by the installer's image, not by the console: a site id technician credentials may be scoped to. */
  siteId: z.string().regex(METER_ID_PATTERN).optional(),
  updatedAt: z.string().optional(),
}).strict();
export type ConsoleSettings = z.infer<typeof ConsoleSettings>;

/** What the console needs from wherever settings live. */
export interface SettingsStore {
  get(): ConsoleSettings;
  /** Validates, merges and persists; throws AgentError BAD_SETTING on an invalid value. */
  update(patch: Partial<ConsoleSettings>): ConsoleSettings;
  /** Factory reset: forgets everything provisioned (keeps siteId, which belongs to the installation). */
  reset(): void;
}

function validate(value: unknown, what: string): ConsoleSettings {
  const r = ConsoleSettings.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new AgentError('BAD_SETTING', `${what}: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`);
  }
  return r.data;
}

export class FileSettingsStore implements SettingsStore {
  private current: ConsoleSettings;

  constructor(readonly path: string, private readonly now: () => number = Date.now) {
    if (!existsSync(path)) this.current = {};
    else {
      let json: unknown;
      try {
        json = JSON.parse(readFileSync(path, 'utf8'));
      } catch (cause) {
        throw new AgentError('BAD_SETTINGS_FILE', `${path} is not JSON`, { cause });
      }
      this.current = validate(json, path);
    }
  }

  static inDataDir(dataDir: string, now?: () => number): FileSettingsStore {
    return new FileSettingsStore(join(dataDir, CONSOLE_SETTINGS_FILE), now);
  }

  get(): ConsoleSettings {
    return { ...this.current };
  }

  update(patch: Partial<ConsoleSettings>): ConsoleSettings {
    const next = validate({ ...this.current, ...patch, updatedAt: new Date(this.now()).toISOString() }, 'setting');
    this.write(next);
    this.current = next;
    return this.get();
  }

  reset(): void {
    const next: ConsoleSettings = this.current.siteId ? { siteId: this.current.siteId } : {};
    this.write(next);
    this.current = next;
  }

  private write(value: ConsoleSettings): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.path); // atomic replace: a power cut leaves the old or the new file, never half
  }
}
