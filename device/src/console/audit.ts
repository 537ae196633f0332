// The console's audit log: one JSON line per command and its result, times in UTC (ISO-8601 Z).
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface AuditEntry {
  t: string;
  line: string;
  cmd?: string;
  technician?: string;
  ok: boolean;
  code?: string;
}

export class AuditLog {
  constructor(readonly path: string, private readonly now: () => number = Date.now) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  }

  append(entry: Omit<AuditEntry, 't'>): AuditEntry {
    const full: AuditEntry = { t: new Date(this.now()).toISOString(), ...entry };
    appendFileSync(this.path, JSON.stringify(full) + '\n', { mode: 0o600 });
    return full;
  }

  /** The last n entries, oldest first. Lines that do not parse (a torn last write) are skipped. */
  tail(n: number): AuditEntry[] {
    if (!existsSync(this.path)) return [];
    const lines = readFileSync(this.path, 'utf8').split('\n');
    const out: AuditEntry[] = [];
    for (let i = lines.length - 1; i >= 0 && out.length < n; i--) {
      if (!lines[i]) continue;
      try {
        out.push(JSON.parse(lines[i]!) as AuditEntry);
      } catch {
        // skipped
      }
    }
    return out.reverse();
  }
}
