// The whitelist of meters the ledger will register: `{ "meters": [ { "meterId": …, "customerAccount": … } ] }`
// (docs/protocol.md §5). Reloaded when the file changes (its mtime, size or inode), checked before each
// registration, so an operator edits the file and no restart is needed.
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { assertMeterId, utf8 } from '@meterseal/protocol';
import { LedgerError, describe } from './errors.js';

const Entry = z.strictObject({
  meterId: z.string(),
  // RegistrationRequest.customerAccount is a str8 (docs/protocol.md §2.2): at most 255 UTF-8 bytes
  customerAccount: z
    .string()
    .min(1)
    .refine((s) => utf8.encode(s).length <= 255, { message: 'must be at most 255 UTF-8 bytes' }),
  /** Written by `meterseal ledger import-meters` (import-meters.ts); informational for the ledger. */
  model: z.string().min(1).max(64).optional(),
  site: z.string().min(1).max(64).optional(),
});
export type WhitelistFileEntry = z.infer<typeof Entry>;
export const WhitelistFile = z.strictObject({ meters: z.array(Entry) });

function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${String(p)}` : String(p)), '');
}

/** Parses whitelist JSON; errors name the file and the entry index and field that is wrong. */
export function parseWhitelist(text: string, file: string): Map<string, string> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new LedgerError('WHITELIST_INVALID', `whitelist ${file}: not valid JSON: ${describe(cause)}`, { cause });
  }
  const r = WhitelistFile.safeParse(json);
  if (!r.success) {
    const first = r.error.issues[0]!;
    throw new LedgerError('WHITELIST_INVALID', `whitelist ${file}: ${fieldPath(first.path) || '(top level)'}: ${first.message}`, {
      cause: r.error,
    });
  }
  const meters = new Map<string, string>();
  r.data.meters.forEach((e, i) => {
    try {
      assertMeterId(e.meterId);
    } catch (cause) {
      throw new LedgerError('WHITELIST_INVALID', `whitelist ${file}: meters[${i}].meterId: ${describe(cause)}`, { cause });
    }
    if (meters.has(e.meterId)) {
      throw new LedgerError('WHITELIST_INVALID', `whitelist ${file}: meters[${i}].meterId: "${e.meterId}" appears twice`);
    }
    meters.set(e.meterId, e.customerAccount);
  });
  return meters;
}

export class Whitelist {
  private meters = new Map<string, string>();
  private stamp = '';
  private failedStamp = '';

  private constructor(readonly file: string) {}

  /** Loads the file. A missing file is an empty whitelist (`missing` is true); an invalid one throws. */
  static load(file: string): Whitelist {
    const w = new Whitelist(file);
    w.reload();
    return w;
  }

  /** True when the file did not exist at the last (re)load. */
  get missing(): boolean {
    return this.stamp === 'missing';
  }

  get size(): number {
    return this.meters.size;
  }

  private currentStamp(): string {
    try {
      const st = statSync(this.file);
      return `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
      throw new LedgerError('WHITELIST_INVALID', `whitelist ${this.file}: ${describe(err)}`, { cause: err });
    }
  }

  /** Re-reads the file. On error the previous list stays in force and the error is thrown. */
  reload(): void {
    const stamp = this.currentStamp();
    if (stamp === 'missing') {
      this.meters = new Map();
    } else {
      let text: string;
      try {
        text = readFileSync(this.file, 'utf8');
      } catch (err) {
        throw new LedgerError('WHITELIST_INVALID', `whitelist ${this.file}: ${describe(err)}`, { cause: err });
      }
      this.meters = parseWhitelist(text, this.file);
    }
    this.stamp = stamp;
  }

  /**
   * Reloads if the file changed since the last load; returns true if it did. Throws like reload(), once
   * per broken version of the file: until it changes again the previous list stays in force quietly.
   */
  reloadIfChanged(): boolean {
    const stamp = this.currentStamp();
    if (stamp === this.stamp || stamp === this.failedStamp) return false;
    try {
      this.reload();
    } catch (err) {
      this.failedStamp = stamp;
      throw err;
    }
    return true;
  }

  /** The customer account the meter is whitelisted for, if any. */
  accountOf(meterId: string): string | undefined {
    return this.meters.get(meterId);
  }
}
