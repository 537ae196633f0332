// The run page's sections for what is not a divergence: seqs explained by proven gap records, readings adjusted by
// proven corrections (the original's values with the correction's beside them), and per-meter completeness split
// into explained and unexplained missing seqs. Every value goes through html`` (escaped); tolerant of reports
// saved before these fields existed.
import { html, type Html } from './dashboard/html.js';
import type { AdjustedItem, ExplainedItem, MeterCompleteness, Report } from './report.js';

type Regs = { registers?: Array<{ obis?: unknown; value?: unknown; scaler?: unknown; unit?: unknown }> } | undefined;

/** "1.0.1.8.0.255 = 1234.5 Wh; …" from a report's values (decimal strings), without trusting their shape. */
function regsText(v: Regs): string {
  if (!v || !Array.isArray(v.registers)) return '—';
  return v.registers.map((g) => {
    const value = String(g.value);
    const scaler = Number(g.scaler);
    if (!/^-?\d{1,20}$/.test(value) || !Number.isInteger(scaler) || scaler < -30 || scaler > 30) return `${String(g.obis)} = ${value} ${String(g.unit)}`;
    const neg = value.startsWith('-');
    const digits = neg ? value.slice(1) : value;
    let text: string;
    if (scaler >= 0) text = digits === '0' ? '0' : digits + '0'.repeat(scaler);
    else {
      const padded = digits.padStart(-scaler + 1, '0');
      text = `${padded.slice(0, scaler)}.${padded.slice(scaler)}`;
    }
    return `${String(g.obis)} = ${neg ? '-' : ''}${text} ${String(g.unit)}`;
  }).join('; ');
}

export function explainedSection(report: Report): Html {
  const items: ExplainedItem[] = Array.isArray(report.explained) ? report.explained.slice(0, 2000) : [];
  if (items.length === 0) return html``;
  return html`<h2>Explained gaps</h2>
<p class="ok">${items.length} signed gap record(s) whose anchors are proven in the ledger explain missing seqs (not divergences):</p>
<table id="explained"><thead><tr><th>Meter</th><th>Seqs</th><th>Reason</th><th>Signed by</th><th>Interval (UTC)</th><th>Gap record hash (anchored)</th></tr></thead><tbody>
${items.map((it) => html`<tr class="explained" data-kind="explained"><td>${it.meterId}</td><td>${it.seq}..${it.lastSeq}</td><td>${it.reason}</td>
<td>${it.signer === '' ? "the meter's agent" : `gateway ${it.signer}`}</td><td>${isoOf(it.fromMs)} – ${isoOf(it.toMs)}</td><td class="mono">${it.ledgerHash}</td></tr>`)}
</tbody></table>`;
}

export function adjustedSection(report: Report): Html {
  const items: AdjustedItem[] = Array.isArray(report.adjusted) ? report.adjusted.slice(0, 2000) : [];
  if (items.length === 0) return html``;
  return html`<h2>Adjusted readings</h2>
<p>${items.length} reading(s) corrected by signed corrections anchored in the ledger; the originals are unchanged:</p>
<table id="adjusted"><thead><tr><th>Meter</th><th>Seq</th><th>Kind</th><th>Original (as collected)</th><th>Corrected</th><th>Correction</th></tr></thead><tbody>
${items.map((it) => html`<tr class="adjusted" data-kind="adjusted"><td>${it.meterId}</td><td>${it.seq}</td><td>adjusted</td>
<td class="original">${regsText(it.collected)}</td><td class="corrected">${regsText(it.corrected)}</td>
<td>seq ${it.corrected?.seq ?? ''}: ${it.corrected?.reason ?? ''}${it.detail ? html`<div class="bad">${it.detail}</div>` : ''}</td></tr>`)}
</tbody></table>`;
}

export function completenessSection(report: Report): Html {
  const rows: MeterCompleteness[] = Array.isArray(report.meters) ? report.meters.filter((m) => m.explainedMissing !== undefined).slice(0, 2000) : [];
  if (rows.length === 0) return html``;
  return html`<h2>Completeness</h2>
<table id="completeness"><thead><tr><th>Meter</th><th>Expected</th><th>Received</th><th>Missing, explained</th><th>Missing, unexplained</th></tr></thead><tbody>
${rows.map((m) => html`<tr><td>${m.meterId}</td><td>${m.expected}</td><td>${m.received}</td><td>${m.explainedMissing ?? 0}</td>
<td class="${(m.unexplainedMissing ?? 0) > 0 ? 'bad' : 'ok'}">${m.unexplainedMissing ?? 0}</td></tr>`)}
</tbody></table>`;
}

function isoOf(ms: string): string {
  const n = Number(ms);
  return Number.isFinite(n) && Math.abs(n) <= 8.64e15 ? new Date(n).toISOString() : ms;
}
