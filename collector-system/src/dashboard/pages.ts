// The dashboard's pages, rendered on the server from the store and report interfaces. Report items are
// rendered from their known fields plus any extra field the reconciliation adds, so a richer report shows up
// without a change here.
import type { CollectorStats } from '../stats.js';
import { adjustedSection, completenessSection, explainedSection } from '../corrections-html.js';
import type { CollectorStore, StoredReading } from '../store.js';
import type { Report } from '../report.js';
import { html, lineChart, type Html } from './html.js';

const ENERGY_OBIS = '1.0.1.8.0.255'; // IEC 62056-6-1 active energy import, total
const CHART_POINTS = 500;

export interface MeterRow {
  meterId: string;
  firstSeq: string;
  lastSeq: string;
  lastReceivedAt: string | null;
  lastAgentTime: string | null;
  energy: string | null;
  silent: boolean;
}

/** A register value as a decimal string: value × 10^scaler, exact (no float rounding). */
export function scaled(value: bigint, scaler: number): string {
  if (scaler >= 0) return (value * 10n ** BigInt(scaler)).toString();
  const neg = value < 0n;
  const digits = (neg ? -value : value).toString().padStart(-scaler + 1, '0');
  const cut = digits.length + scaler;
  return `${neg ? '-' : ''}${digits.slice(0, cut)}.${digits.slice(cut)}`;
}

function energyOf(r: StoredReading): string | null {
  const reg = r.reading.registers.find((g) => g.obis === ENERGY_OBIS) ?? r.reading.registers[0];
  return reg ? `${scaled(reg.value, reg.scaler)} ${reg.unit}` : null;
}

export async function meterRows(store: CollectorStore, nowMs: number, silentAfterMs: number): Promise<MeterRow[]> {
  const rows: MeterRow[] = [];
  for (const meterId of (await store.meters()).slice(0, 5000)) {
    const range = await store.seqRange(meterId);
    const last = range ? (await store.readings(meterId, range.max, range.max, 1))[0] : undefined;
    const receivedMs = last ? Date.parse(last.receivedAt) : NaN;
    rows.push({
      meterId,
      firstSeq: range ? range.min.toString() : '—',
      lastSeq: range ? range.max.toString() : '—',
      lastReceivedAt: last?.receivedAt ?? null,
      lastAgentTime: last ? new Date(Number(last.reading.agentTimeMs)).toISOString() : null,
      energy: last ? energyOf(last) : null,
      silent: !Number.isFinite(receivedMs) || nowMs - receivedMs > silentAfterMs,
    });
  }
  return rows;
}

export function csrfField(csrf: string): Html {
  return html`<input type="hidden" name="csrf" value="${csrf}">`;
}

export function metersPage(rows: MeterRow[], stats: CollectorStats, silentAfterMs: number): Html {
  const rejected = Object.entries(stats.rejected);
  return html`<h1>Meters</h1>
<p>${rows.length} meters; ${stats.collected} readings collected since start, ${stats.duplicates} duplicates, ${stats.conflicts} conflicts,
${stats.pending} pending${rejected.length ? html`; rejected: ${rejected.map(([k, v]) => `${k} ${v}`).join(', ')}` : ''}.
A meter is <em>silent</em> when nothing arrived for ${Math.round(silentAfterMs / 1000)} s.</p>
<table id="meters"><thead><tr><th>Meter</th><th>State</th><th>Last seq</th><th>First seq</th><th>Last reading (agent time)</th><th>Received</th><th>Energy</th></tr></thead><tbody>
${rows.map(
  (r) => html`<tr><td><a href="/meters/${encodeURIComponent(r.meterId)}">${r.meterId}</a></td>
<td class="${r.silent ? 'warn' : 'ok'}">${r.silent ? 'silent' : 'reporting'}</td><td>${r.lastSeq}</td><td>${r.firstSeq}</td>
<td>${r.lastAgentTime ?? '—'}</td><td>${r.lastReceivedAt ?? '—'}</td><td>${r.energy ?? '—'}</td></tr>`,
)}
</tbody></table>`;
}

export async function meterPage(store: CollectorStore, meterId: string, obisParam: string | undefined): Promise<Html | null> {
  const range = await store.seqRange(meterId);
  if (!range) return null;
  const from = range.max - BigInt(CHART_POINTS - 1) > range.min ? range.max - BigInt(CHART_POINTS - 1) : range.min;
  const readings = await store.readings(meterId, from, range.max, CHART_POINTS);
  const codes = [...new Set(readings.flatMap((r) => r.reading.registers.map((g) => g.obis)))].sort();
  const obis = obisParam && codes.includes(obisParam) ? obisParam : codes.includes(ENERGY_OBIS) ? ENERGY_OBIS : codes[0];
  let unit = '';
  const points = readings.flatMap((r) => {
    const reg = r.reading.registers.find((g) => g.obis === obis);
    if (!reg) return [];
    unit = reg.unit;
    return [{ x: Number(r.reading.agentTimeMs), y: Number(scaled(reg.value, reg.scaler)) }];
  });
  const recent = readings.slice(-20).reverse();
  return html`<h1>Meter ${meterId}</h1>
<p>Stored seq ${range.min.toString()} … ${range.max.toString()}; charting the last ${points.length} readings.</p>
<form method="get"><label>Register <select name="obis">${codes.map((c) => html`<option value="${c}"${c === obis ? html` selected` : ''}>${c}</option>`)}</select></label> <button>Show</button></form>
${lineChart(points, { xLabel: (x) => new Date(x).toISOString().slice(11, 19) + 'Z', yLabel: `${obis ?? ''} (${unit})` })}
<h2>Latest readings</h2>
<table><thead><tr><th>Seq</th><th>Agent time</th><th>Registers</th><th>Received</th></tr></thead><tbody>
${recent.map(
  (r) => html`<tr><td>${r.reading.seq.toString()}</td><td>${new Date(Number(r.reading.agentTimeMs)).toISOString()}</td>
<td>${r.reading.registers.map((g) => html`${g.obis} = ${scaled(g.value, g.scaler)} ${g.unit}<br>`)}</td><td>${r.receivedAt}</td></tr>`,
)}
</tbody></table>`;
}

/** Counts of a report, tolerant of counters the reconciliation adds or renames. */
function countsText(report: Report): string {
  return Object.entries(report.counts ?? {})
    .map(([k, v]) => `${k} ${String(v)}`)
    .join(', ');
}

function divergences(report: Report): number {
  return Object.entries(report.counts ?? {}).reduce((n, [k, v]) => (k === 'matched' || typeof v !== 'number' ? n : n + v), 0);
}

export function runsPage(reports: Report[], csrf: string, reconcileEnabled: boolean, message?: Html): Html {
  return html`<h1>Reconciliation runs</h1>
${message ?? ''}
${reconcileEnabled
  ? html`<form method="post" action="/reconcile" id="reconcile-form">${csrfField(csrf)}
<label>Reason <input name="reason" required maxlength="200" size="40" placeholder="why the air gap is opened"></label>
<button>Open a window and reconcile now</button></form>`
  : ''}
<table id="runs"><thead><tr><th>Run</th><th>Started</th><th>Finished</th><th>Checkpoint</th><th>Outcome</th></tr></thead><tbody>
${reports.map(
  (r) => html`<tr><td><a href="/runs/${encodeURIComponent(r.id)}">${r.id}</a></td><td>${r.startedAt}</td><td>${r.finishedAt}</td>
<td>${r.checkpoint?.origin ?? ''} size ${r.checkpoint?.size ?? ''}</td>
<td class="${divergences(r) > 0 ? 'bad' : 'ok'}">${divergences(r) > 0 ? `${divergences(r)} divergences` : 'all matched'} (${countsText(r)})</td></tr>`,
)}
</tbody></table>`;
}

const KNOWN_ITEM_FIELDS = new Set(['meterId', 'seq', 'outcome', 'collectedHash', 'ledgerHash', 'detail', 'collected', 'delivered']);

type Values = { registers?: Array<{ obis: string; value: string; scaler: number; unit: string }> };

/** A report's ReadingValues as text; tolerant of a shape it does not know. */
function valuesText(v: unknown): string | null {
  const regs = (v as Values | undefined)?.registers;
  if (!Array.isArray(regs)) return v === undefined ? null : JSON.stringify(v);
  return regs.map((g) => (/^-?\d{1,20}$/.test(String(g.value)) && Number.isInteger(g.scaler) ? `${g.obis} = ${scaled(BigInt(g.value), g.scaler)} ${g.unit}` : `${g.obis} = ${String(g.value)} ${g.unit}`)).join('; ');
}

function extraFields(item: object): Html {
  const extra = Object.entries(item).filter(([k]) => !KNOWN_ITEM_FIELDS.has(k));
  return html`${extra.map(([k, v]) => html`<div><b>${k}</b>: <span class="mono">${typeof v === 'string' ? v : JSON.stringify(v)}</span></div>`)}`;
}

/** The stored (collector-side) values of a reading, for an item whose hash disagrees with the ledger's. */
async function storedValues(store: CollectorStore, meterId: string, seq: string): Promise<string | null> {
  if (!/^\d{1,20}$/.test(seq)) return null;
  const [r] = await store.readings(meterId, BigInt(seq), BigInt(seq), 1);
  return r ? r.reading.registers.map((g) => `${g.obis} = ${scaled(g.value, g.scaler)} ${g.unit}`).join('; ') : null;
}

export async function runPage(store: CollectorStore, report: Report): Promise<Html> {
  const items = (report.items ?? []).slice(0, 2000);
  const rows: Html[] = [];
  for (const item of items) {
    const record = item as unknown as Record<string, unknown>;
    const values = valuesText(record.collected) ?? (await storedValues(store, item.meterId, String(item.seq)));
    const delivered = valuesText(record.delivered);
    rows.push(html`<tr class="divergence" data-kind="${item.outcome}"><td>${item.meterId}</td><td>${String(item.seq)}</td>
<td class="bad">${item.outcome}</td>
<td><div>values: ${values ?? '— (nothing stored)'}</div>${delivered ? html`<div>other delivery: ${delivered}</div>` : ''}<div class="mono">hash: ${item.collectedHash ?? '—'}</div></td>
<td class="mono">${item.ledgerHash ?? '— (no anchor)'}</td><td>${item.detail ?? ''}${extraFields(item)}</td></tr>`);
  }
  const kinds = [...new Set<string>(['tampered', 'missing', 'unanchored', 'conflict', ...items.map((i) => i.outcome)])].sort();
  return html`<h1>Run ${report.id}</h1>
<p>Started ${report.startedAt}, finished ${report.finishedAt}, against checkpoint ${report.checkpoint?.origin ?? ''} size ${report.checkpoint?.size ?? ''}
root <span class="mono">${report.checkpoint?.rootHex ?? ''}</span>.</p>
<p id="counts">${countsText(report)}</p>
${witnessLine(report)}${report.traffic ? html`<p>Across the gap: ${report.traffic.requests} requests, ${report.traffic.bytes} bytes.</p>` : ''}
${items.length === 0
  ? html`<p class="ok">Every reading matched the ledger.</p>`
  : html`<p class="bad">${items.length} divergences located${(report.items?.length ?? 0) > items.length ? ` (first ${items.length} shown)` : ''}:</p>
<label>Kind <select id="kind-filter"><option value="">all</option>${kinds.map((k) => html`<option>${k}</option>`)}</select></label>
<table id="divergences"><thead><tr><th>Meter</th><th>Seq</th><th>Kind</th><th>Collector side</th><th>Ledger side (anchored hash)</th><th>Detail</th></tr></thead>
<tbody>${rows}</tbody></table>`}
${explainedSection(report)}${adjustedSection(report)}${completenessSection(report)}`;
}

function witnessLine(report: Report): Html {
  const w = report.witness;
  if (!w) return html``;
  return html`<p class="${w.status === 'alarm' ? 'bad' : 'ok'}">Witness: ${w.status}${w.alarm ? html` — ${w.alarm.code}: ${w.alarm.message}` : ''}${w.previousSize ? ` (previous size ${w.previousSize})` : ''}</p>`;
}

export function errorBox(message: string): Html {
  return html`<p class="err">${message}</p>`;
}
