// Config files are outside input: JSON only, size-limited, validated against the component's schema, and
// every error names the file and the field.
import { readFileSync, statSync } from 'node:fs';
import type { z } from 'zod';
import { CliError } from './errors.js';

const MAX_CONFIG_BYTES = 1 << 20;

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    if (statSync(path).size > MAX_CONFIG_BYTES) throw new CliError('CONFIG_TOO_LARGE', `${path}: config file larger than 1 MiB`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError('CONFIG_UNREADABLE', `${path}: cannot read config file (${(err as Error).message})`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CliError('CONFIG_NOT_JSON', `${path}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CliError('CONFIG_NOT_OBJECT', `${path}: the top level must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Deep-merges plain objects; later layers win. */
export function mergeConfig(...layers: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined) continue;
      const prev = out[k];
      out[k] =
        typeof v === 'object' && v !== null && !Array.isArray(v) && typeof prev === 'object' && prev !== null && !Array.isArray(prev)
          ? mergeConfig(prev as Record<string, unknown>, v as Record<string, unknown>)
          : v;
    }
  }
  return out;
}

export function validateConfig<S extends z.ZodType>(schema: S, value: unknown, source: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`).join('\n');
  throw new CliError('CONFIG_INVALID', `invalid configuration (${source}):\n${problems}`);
}

/**
 * Loads --config FILE (if given) over the command's `defaults`, then applies flag overrides, then validates.
 * A default (such as a data directory) must go in `defaults`, never in `overrides`, or it would hide the file.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S, file: string | undefined, overrides: Record<string, unknown>, defaults: Record<string, unknown> = {},
): z.output<S> {
  const base = file ? readConfigFile(file) : {};
  return validateConfig(schema, mergeConfig(defaults, base, overrides), file ?? 'defaults and flags');
}
