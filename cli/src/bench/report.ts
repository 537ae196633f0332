// A bench run as text: a table per benchmark for the terminal, the same as Markdown for
// bench-results/latest.md and docs/performance.md, and the JSON of --json and latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchRun } from './index.js';
import { machineLine } from './machine.js';
import type { Figure, Result } from './types.js';

const HEADER = ['figure', 'value', 'reference (same run)', 'ratio', 'target'];

/** Said in the cell when a figure has no reference (every benchmark should give one; bench.test.ts checks). */
const NO_REFERENCE = '— (none measured)';
/** Said in the cell when no issue set a goal for the figure: it is context for a figure that has one. */
const NO_TARGET = '— (context figure: no target set)';

/**
 * Targets the issues state for figures whose benchmark does not carry one itself (docs/performance.md
 * §reconcile: "O(log n): the index page, the walk, the leaves").
 */
const KNOWN_TARGETS: ReadonlyArray<[prefix: string, target: string]> = [
  ['round trips to locate one altered reading', 'ratio ≤ 1 (O(log n) round trips)'],
];

export function targetOf(f: Figure): string | undefined {
  return f.target ?? KNOWN_TARGETS.find(([prefix]) => f.metric.startsWith(prefix))?.[1];
}

/** A short name of the machine for every row, so a row copied elsewhere keeps it. */
export function machineShort(m: BenchRun['machine']): string {
  const cpu = m.cpu.replace(/\s*\(\d+ MHz\)$/, '');
  return `${cpu} ×${m.cores}, Node ${m.node}, load ${m.loadAverage1m}`;
}

export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const abs = Math.abs(x);
  return x.toLocaleString('en-US', abs >= 100 ? { maximumFractionDigits: 0 } : { maximumSignificantDigits: 3 });
}

function row(f: Figure): string[] {
  return [
    f.metric,
    `${formatNumber(f.value)} ${f.unit}`,
    f.reference ? `${f.reference.metric}: ${formatNumber(f.reference.value)} ${f.reference.unit}` : NO_REFERENCE,
    f.ratio !== undefined ? `${formatNumber(f.ratio)}×` : '—',
    targetOf(f) ?? NO_TARGET,
  ];
}

const paramsLine = (r: Result): string =>
  Object.entries(r.params ?? {})
    .map(([k, v]) => `${k}=${typeof v === 'number' ? formatNumber(v) : v}`)
    .join(', ');

export function textTable(r: Result): string {
  const rows = [HEADER, ...r.figures.map(row)];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((cells) => cells[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [`${r.name}${r.params ? ` (${paramsLine(r)})` : ''}`, line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const cells of rows.slice(1)) out.push(line(cells));
  for (const note of r.notes ?? []) out.push(`  note: ${note}`);
  return out.join('\n');
}

export function textReport(run: BenchRun): string {
  return [`machine: ${machineLine(run.machine)}`, `started: ${run.startedAt}`, '', ...run.results.map((r) => `${textTable(r)}\n`)].join('\n');
}

const md = (s: string): string => s.replace(/\|/g, '\\|');

export function markdownReport(run: BenchRun): string {
  const out = [`Machine: ${md(machineLine(run.machine))}. Run started ${run.startedAt}.`, ''];
  const machine = md(machineShort(run.machine));
  out.push(`| benchmark | ${HEADER.join(' | ')} | machine |`, `| --- | ${HEADER.map(() => '---').join(' | ')} | --- |`);
  for (const r of run.results) for (const f of r.figures) out.push(`| ${r.name} | ${row(f).map(md).join(' | ')} | ${machine} |`);
  out.push('');
  out.push('Every row: the value, its reference measured in the same run on the same machine, ratio = value / reference (the figure that compares between machines), the target the issues set (or that none was set), and the machine.', '');
  for (const r of run.results) {
    if (r.params) out.push(`- \`${r.name}\`: ${md(paramsLine(r))}`);
    for (const note of r.notes ?? []) out.push(`  - ${md(note)}`);
  }
  return `${out.join('\n')}\n`;
}

/** The run with each figure's target filled in from KNOWN_TARGETS where its benchmark gave none. */
function withTargets(run: BenchRun): BenchRun {
  return { ...run, results: run.results.map((r) => ({ ...r, figures: r.figures.map((f) => (targetOf(f) === undefined ? f : { ...f, target: targetOf(f)! })) })) };
}

export function jsonReport(run: BenchRun): string {
  return JSON.stringify(withTargets(run));
}

/** Writes <dir>/latest.json and <dir>/latest.md; returns their paths. */
export function writeResults(dir: string, run: BenchRun): { json: string; markdown: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'latest.json');
  const markdown = join(dir, 'latest.md');
  writeFileSync(json, `${JSON.stringify(withTargets(run), null, 2)}\n`);
  writeFileSync(markdown, `# MeterSeal bench results\n\n${markdownReport(run)}`);
  return { json, markdown };
}
