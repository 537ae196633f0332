// Human-readable rendering of console answers (the raw JSON line is kept for --json).
import type { ConsoleAnswer } from './client.js';

function value(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function formatAnswer(a: ConsoleAnswer): string {
  if (!a.ok) return `✗ ${a.cmd ?? 'error'}: ${a.error?.code ?? 'ERROR'} — ${a.error?.message ?? ''}`;
  const lines = [`✓ ${a.cmd ?? 'ok'}`];
  for (const [k, v] of Object.entries(a)) {
    if (k === 'ok' || k === 'cmd') continue;
    if (Array.isArray(v)) {
      lines.push(`  ${k}:`);
      for (const item of v) lines.push(`    ${value(item)}`);
    } else if (v && typeof v === 'object') {
      lines.push(`  ${k}:`);
      for (const [k2, v2] of Object.entries(v)) lines.push(`    ${k2}: ${value(v2)}`);
    } else lines.push(`  ${k}: ${value(v)}`);
  }
  return lines.join('\n');
}
