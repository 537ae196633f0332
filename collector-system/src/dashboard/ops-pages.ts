// The air-gap and witness pages: state read from the controller and its audit log, and whatever witness
// state the collector exposes — every field escaped, unknown fields shown as they are.
import type { AirgapStatusView } from '@meterseal/airgap-controller';
import { html, type Html } from './html.js';

type AuditLine = Record<string, unknown> & { event: string };

const text = (v: unknown): string => (v === null || v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));

export function airgapPage(status: AirgapStatusView | { error: string }, history: AuditLine[]): Html {
  const live =
    'error' in status
      ? html`<p class="warn">Controller status unavailable: ${status.error}</p>`
      : html`<p id="airgap-state">The gap is <strong class="${status.open ? 'bad' : 'ok'}">${status.open ? 'OPEN' : 'closed'}</strong>;
${status.windows} windows since the controller started.</p>
${status.current ? html`<table>${Object.entries(status.current).map(([k, v]) => html`<tr><th>${k}</th><td class="mono">${text(v)}</td></tr>`)}</table>` : ''}`;
  return html`<h1>Air gap</h1>${live}
<h2>History (newest first)</h2>
${history.length === 0
  ? html`<p>No audit log configured or no windows recorded yet.</p>`
  : html`<table id="airgap-history"><thead><tr><th>Time</th><th>Event</th><th>Window</th><th>Reason</th><th>Operator</th><th>Driver</th><th>Duration</th><th>Closed by</th><th>Bytes → / ←</th><th>Error</th></tr></thead><tbody>
${history.map(
  (h) => html`<tr><td>${text(h.time)}</td><td class="${h.event === 'open' ? 'warn' : h.event === 'close' ? 'ok' : 'bad'}">${h.event}</td>
<td class="mono">${text(h.windowId)}</td><td>${text(h.reason)}</td><td>${h.operator === undefined ? 'schedule' : text(h.operator)}</td><td>${text(h.driver)}</td>
<td>${typeof h.durationMs === 'number' ? `${(h.durationMs / 1000).toFixed(1)} s` : '—'}</td><td>${text(h.closedBy)}</td>
<td>${text(h.bytesToTarget)} / ${text(h.bytesFromTarget)}</td><td>${h.error ? text(h.error) : ''}${h.event === 'refused' ? text(h.request) : ''}</td></tr>`,
)}</tbody></table>`}`;
}

export function witnessPage(state: Record<string, unknown> | null): Html {
  if (state === null) {
    return html`<h1>Witness</h1><p>This collector exposes no witness state (cosignatures or alarms) yet.</p>`;
  }
  return html`<h1>Witness</h1><table id="witness">${Object.entries(state).map(([k, v]) => html`<tr><th>${k}</th><td class="mono">${text(v)}</td></tr>`)}</table>`;
}
