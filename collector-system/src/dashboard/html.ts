// HTML building blocks for the dashboard. Every dynamic value goes through esc() (or attr()); nothing from a
// meter, the ledger or the store is ever put into markup, a URL or a script unescaped.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** HTML-escapes text for element content and quoted attribute values (HTML Living Standard §13.1.2.3). */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** A path segment for links (RFC 3986 §3.3), then HTML-escaped. */
export const seg = (value: string): string => esc(encodeURIComponent(value));

/** Raw HTML that has already been built from escaped parts. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** Tagged template: interpolations are escaped unless they are Html (or arrays of Html). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return new Html(out);
}

function render(v: unknown): string {
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === undefined || v === null || v === false) return '';
  return esc(v);
}

const STYLE = `
body{font-family:system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
header{background:#1d2330;color:#fff;padding:.6rem 1rem;display:flex;gap:1.2rem;align-items:center}
header a{color:#cfe0ff;text-decoration:none}header .who{margin-left:auto}
main{padding:1rem;max-width:1100px}
table{border-collapse:collapse;background:#fff;margin:.5rem 0 1rem}
td,th{border:1px solid #d5d9e0;padding:.3rem .6rem;text-align:left;font-size:.9rem;vertical-align:top}
th{background:#eceff4}.mono{font-family:ui-monospace,monospace;font-size:.8rem;word-break:break-all}
.bad{color:#b00020;font-weight:600}.ok{color:#0a7a32;font-weight:600}.warn{color:#9a6700;font-weight:600}
form.inline{display:inline}button{cursor:pointer}.err{background:#fde8ea;border:1px solid #b00020;padding:.5rem}
svg{background:#fff;border:1px solid #d5d9e0}`;

/** A whole page: no external resources (no CDN), one inline stylesheet. */
export function page(title: string, body: Html, nav?: { user: string; csrf: string }): string {
  const header = nav
    ? html`<header><strong>MeterSeal collector</strong><a href="/">Meters</a><a href="/runs">Reconciliation</a>
<a href="/airgap">Air gap</a><a href="/witness">Witness</a><span class="who">${nav.user}</span>
<form class="inline" method="post" action="/logout"><input type="hidden" name="csrf" value="${nav.csrf}"><button>Log out</button></form></header>`
    : html`<header><strong>MeterSeal collector</strong></header>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style></head>
<body>${header.value}<main>${body.value}</main></body></html>`;
}

export interface ChartPoint {
  x: number;
  y: number;
}

/** A line chart as inline SVG (SVG 1.1 §9.7 polyline), axes labelled with the min/max of each series. */
export function lineChart(points: ChartPoint[], o: { width?: number; height?: number; xLabel: (x: number) => string; yLabel: string }): Html {
  const width = o.width ?? 720;
  const height = o.height ?? 240;
  const pad = 48;
  const left = 80; // room for the y labels
  if (points.length === 0) return html`<p>No readings to chart.</p>`;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (x: number): number => left + ((x - x0) / (x1 - x0 || 1)) * (width - left - pad);
  const sy = (y: number): number => height - pad - ((y - y0) / (y1 - y0 || 1)) * (height - 2 * pad);
  const pts = points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
  return html`<svg role="img" aria-label="${o.yLabel}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">
<line x1="${left}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="#888"/>
<line x1="${left}" y1="${pad}" x2="${left}" y2="${height - pad}" stroke="#888"/>
<polyline fill="none" stroke="#2f6fdb" stroke-width="2" points="${pts}"/>
${points.length <= 200 ? points.map((p) => html`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="2.5" fill="#2f6fdb"><title>${o.xLabel(p.x)}: ${p.y}</title></circle>`) : ''}
<text x="${left}" y="${height - pad + 16}" font-size="11">${o.xLabel(x0)}</text>
<text x="${width - pad}" y="${height - pad + 16}" font-size="11" text-anchor="end">${o.xLabel(x1)}</text>
<text x="${left - 4}" y="${height - pad}" font-size="11" text-anchor="end">${y0}</text>
<text x="${left - 4}" y="${pad + 4}" font-size="11" text-anchor="end">${y1}</text>
<text x="${width / 2}" y="${pad - 16}" font-size="12" text-anchor="middle">${o.yLabel}</text>
</svg>`;
}
