// Test support (not a test): a collector with its dashboard and metrics on, two meters delivering through
// MQTT, a fake ledger anchoring them, the real air-gap controller, and an insider edit found by a run.
import { join } from 'node:path';
import { startAirgap, type AirgapHandle } from '@meterseal/airgap-controller';
import { toHex } from '@meterseal/protocol';
import { tamperStoredReadings, type TamperedReading } from '../insider.js';
import type { Report } from '../report.js';
import { startCollector, type CollectorHandle } from '../service.js';
import { startFakeLedger, type FakeLedger } from '../testing/fake-ledger.js';
import { deliver, makeLedgerKey, makeMeter, makeReading } from '../testing/fixtures.js';
import { connectMeter, silentLog, tempDir, type Teardown } from '../testing/harness.js';
import { hashPassword } from './auth.js';

export const OPERATOR = { name: 'alice', password: 'correct horse battery staple' };
export const METERS = ['DDSU666-000001', 'DDSU666-000002'];

export interface Scenario {
  dir: string;
  collector: CollectorHandle;
  airgap: AirgapHandle;
  ledger: FakeLedger;
  dashboardUrl: string;
  metricsUrl: string;
  /** The run that found the edit. */
  report: Report;
  tampered: TamperedReading[];
  /** The air-gap controller's audit log (JSON lines). */
  auditLog: string;
}

export async function startScenario(t: Teardown, { readings = 12n, tamper = 1 }: { readings?: bigint; tamper?: number } = {}): Promise<Scenario> {
  const dir = tempDir(t, 'dashboard-test-');
  const key = makeLedgerKey();
  const ledger = await startFakeLedger(key);
  t.teardown(() => ledger.close());
  const auditLog = join(dir, 'airgap', 'audit.jsonl');
  const airgap = await startAirgap({ target: ledger.endpoint, auditLog }, { log: silentLog });
  t.teardown(() => airgap.close());
  const collector = await startCollector(
    {
      dataDir: join(dir, 'collector'),
      mqtt: { port: 0 },
      trust: { ledgerPublicKey: key.publicKeyHex, ledgerVerifierKey: key.vkey },
      airgap: airgap.controlAddress,
      dashboard: { enabled: true, port: 0, operators: [{ name: OPERATOR.name, passwordHash: hashPassword(OPERATOR.password) }], airgapAuditLog: auditLog },
      metrics: { enabled: true, port: 0 },
    },
    { log: silentLog },
  );
  t.teardown(() => collector.close());
  for (const meterId of METERS) {
    const meter = makeMeter(meterId, key);
    const client = await connectMeter(t, collector.mqttUrl, meterId);
    await client.announce(meter.announcement, toHex(meter.keyId));
    for (let seq = 1n; seq <= readings; seq++) {
      const d = deliver(meter, makeReading(meterId, seq));
      ledger.anchor(meter, d);
      await client.deliver(seq, d.payload);
    }
  }
  const tampered = tamper > 0 ? tamperStoredReadings(collector.store, tamper) : [];
  const report = await collector.reconcile({ reason: 'dashboard test run' });
  return { dir, collector, airgap, ledger, dashboardUrl: collector.dashboardUrl!, metricsUrl: collector.metricsUrl!, report, tampered, auditLog };
}

/** A tiny cookie-keeping HTTP client for the dashboard (no redirects followed). */
export class Browserless {
  readonly cookies = new Map<string, string>();
  constructor(readonly base: string) {}

  async request(path: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<{ status: number; text: string; headers: Headers }> {
    const headers: Record<string, string> = {};
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(this.base + path, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const [name, value] = [pair!.slice(0, i), pair!.slice(i + 1)];
      if (value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: res.status, text: await res.text(), headers: res.headers };
  }

  /** GET /login, then POST the form with its token. */
  async login(user: string, password: string): Promise<{ status: number; text: string; headers: Headers }> {
    const form = await this.request('/login');
    const token = /name="token" value="([^"]+)"/.exec(form.text)?.[1] ?? '';
    return this.request('/login', { form: { token, user, password } });
  }

  static csrf(pageText: string): string {
    return /name="csrf" value="([^"]+)"/.exec(pageText)?.[1] ?? '';
  }
}
