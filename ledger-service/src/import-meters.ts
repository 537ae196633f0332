// `meterseal ledger import-meters FILE.csv` (issue 5): the utility's meter list into the ledger's whitelist.
// CSV (RFC 4180 without quoting): a header `meter_id,customer_account,model,site`, then one meter a line.
// Every line is validated and every error reported with its line number; if any line is wrong nothing is
// imported. Importing the same file twice changes nothing (the whitelist file is not even rewritten). A
// meter already whitelisted with another account, model or site is an error, not a silent overwrite.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { METER_ID_PATTERN, utf8 } from '@meterseal/protocol';
import { LedgerError } from './errors.js';
import { WhitelistFile, type WhitelistFileEntry } from './whitelist.js';

export const CSV_HEADER = ['meter_id', 'customer_account', 'model', 'site'] as const;
export const MAX_CSV_BYTES = 16 * 1024 * 1024;
const MAX_ERRORS = 100;

export interface CsvError {
  line: number;
  message: string;
}

export interface ParsedMeters {
  meters: WhitelistFileEntry[];
  /** The CSV line of each meter. */
  lineNumbers: number[];
  errors: CsvError[];
}

function printable(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false;
  }
  return true;
}

/** Parses the CSV text. Never throws for bad content: each problem is an error with its line number. */
export function parseMetersCsv(text: string): ParsedMeters {
  const meters: WhitelistFileEntry[] = [];
  const lineNumbers: number[] = [];
  const errors: CsvError[] = [];
  const seen = new Map<string, number>();
  const fail = (line: number, message: string): void => void (errors.length < MAX_ERRORS && errors.push({ line, message }));
  if (utf8.encode(text).length > MAX_CSV_BYTES) return { meters, lineNumbers, errors: [{ line: 0, message: `file larger than ${MAX_CSV_BYTES} bytes` }] };
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const header = (lines[0] ?? '').split(',').map((h) => h.trim().toLowerCase());
  if (header.join(',') !== CSV_HEADER.join(',')) {
    return { meters, lineNumbers, errors: [{ line: 1, message: `the header must be "${CSV_HEADER.join(',')}"` }] };
  }
  for (let i = 1; i < lines.length; i++) {
    const n = i + 1;
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    if (raw.length > 1024) { fail(n, 'line longer than 1024 characters'); continue; }
    if (raw.includes('"')) { fail(n, 'quoted fields are not supported'); continue; }
    const f = raw.split(',').map((x) => x.trim());
    if (f.length !== CSV_HEADER.length) { fail(n, `expected ${CSV_HEADER.length} fields, found ${f.length}`); continue; }
    const [meterId, customerAccount, model, site] = f as [string, string, string, string];
    const problems: string[] = [];
    if (!METER_ID_PATTERN.test(meterId)) problems.push('meter_id must be 1..64 characters of A-Z a-z 0-9 . _ -');
    if (customerAccount === '' || utf8.encode(customerAccount).length > 255 || !printable(customerAccount)) problems.push('customer_account must be 1..255 bytes of printable text');
    if (model === '' || model.length > 64 || !printable(model)) problems.push('model must be 1..64 printable characters');
    if (!METER_ID_PATTERN.test(site)) problems.push('site must be 1..64 characters of A-Z a-z 0-9 . _ -');
    const dup = seen.get(meterId);
    if (dup !== undefined) problems.push(`meter ${meterId} is already on line ${dup}`);
    if (problems.length) { fail(n, problems.join('; ')); continue; }
    seen.set(meterId, n);
    meters.push({ meterId, customerAccount, model, site });
    lineNumbers.push(n);
  }
  return { meters, lineNumbers, errors };
}

export interface ImportResult {
  added: string[];
  unchanged: number;
  errors: CsvError[];
  /** False when nothing was written (errors, or everything already there). */
  written: boolean;
}

function readWhitelistFile(path: string): WhitelistFileEntry[] {
  if (!existsSync(path)) return [];
  const r = WhitelistFile.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!r.success) throw new LedgerError('WHITELIST_INVALID', `whitelist ${path} is invalid; fix it before importing`);
  return r.data.meters;
}

/** Merges the CSV into the whitelist file (atomic replace); all or nothing. */
export function importMeters(csvText: string, whitelistPath: string): ImportResult {
  const parsed = parseMetersCsv(csvText);
  const existing = readWhitelistFile(whitelistPath);
  const byId = new Map(existing.map((e) => [e.meterId, e]));
  const added: string[] = [];
  let unchanged = 0;
  const errors = [...parsed.errors];
  for (const [i, m] of parsed.meters.entries()) {
    const e = byId.get(m.meterId);
    if (!e) added.push(m.meterId);
    else if (e.customerAccount === m.customerAccount && (e.model ?? m.model) === m.model && (e.site ?? m.site) === m.site) unchanged++;
    else if (errors.length < MAX_ERRORS) errors.push({ line: parsed.lineNumbers[i]!, message: `meter ${m.meterId} is already whitelisted with other details; change it by hand` });
  }
  errors.sort((a, b) => a.line - b.line);
  if (errors.length || added.length === 0) return { added: errors.length ? [] : added, unchanged, errors, written: false };
  const addedSet = new Set(added);
  const next = { meters: [...existing, ...parsed.meters.filter((m) => addedSet.has(m.meterId))] };
  const tmp = `${whitelistPath}.tmp`;
  writeFileSync(tmp, JSON.stringify(next, null, 2) + '\n', { mode: 0o640 });
  renameSync(tmp, whitelistPath); // the ledger reloads the whitelist when the file changes
  return { added, unchanged, errors, written: true };
}
