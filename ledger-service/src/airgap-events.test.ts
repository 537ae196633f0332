// Every air-gap window recorded in the ledger, end to end: a real controller (its own key, signed AirgapWindow
// records over HTTP) in front of a real ledger; the ledger verifies, stores and lists them; forged, malformed
// and conflicting records are refused; the Prometheus endpoint reflects anchors, rejections and windows.
import { join } from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { loadControllerKey, openWindow, startAirgap } from '@meterseal/airgap-controller';
import { generateKeyPair, signAirgapWindow } from '@meterseal/protocol';
import { startTestLedger, tempDir } from './testing/harness.js';

const silent = pino({ level: 'silent' });

async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(url)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.trim()) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

t.test('the controller records each open and close in the ledger; the ledger refuses what it cannot verify', async (t) => {
  const dir = tempDir(t);
  const keyFile = join(dir, 'controller', 'airgap.key');
  const controllerKey = loadControllerKey(keyFile);
  const hex = Buffer.from(controllerKey.publicKey).toString('hex');
  const M1 = { meterId: 'M-1', customerAccount: 'A-1' };
  const { ledger, meter } = await startTestLedger(t, { meters: [M1], config: { airgapControllerKeys: [hex], metrics: { enabled: true, port: 0 }, checkpointIntervalMs: 20 } });
  t.match(ledger.metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, 'metrics bound to loopback by default');
  const before = await scrape(ledger.metricsUrl!);
  t.equal(before.get('meterseal_ledger_anchors_total'), 0);

  const api = new URL(ledger.httpUrl);
  const airgap = await startAirgap(
    { target: { host: api.hostname, port: Number(api.port) }, auditLog: join(dir, 'audit.jsonl'), ledgerRecord: { url: ledger.httpUrl, keyFile } },
    { log: silent },
  );
  t.teardown(() => airgap.close());
  const window = await openWindow({ control: airgap.controlAddress, reason: 'monthly reconciliation' });
  const listed = await (await fetch(`${ledger.httpUrl}/v1/airgap-events`)).json() as { events: Array<Record<string, unknown>> };
  t.match(listed.events, [{ windowId: window.windowId, event: 'open', reason: 'monthly reconciliation', driver: 'relay', controllerKey: hex }], 'recorded before the window was handed out');
  t.equal((await fetch(`${window.relayUrl}/v1/stats`)).status, 403, 'one refused request');
  t.equal((await fetch(`${window.relayUrl}/checkpoint`)).status, 200);
  await window.close();
  await airgap.close(); // waits for the background close submission
  const after = await (await fetch(`${ledger.httpUrl}/v1/airgap-events`)).json() as { events: Array<Record<string, unknown>> };
  t.match(after.events[0], { windowId: window.windowId, event: 'close', closedBy: 'requested', refusedRequests: 1 });
  t.ok(Number(after.events[0]!.bytesFromTarget) > 0, 'the close carries the traffic');

  // forged: signed by another key; malformed; a different record under a used (window, event)
  const forged = signAirgapWindow({ event: 'open', windowId: '0f8fad5b-d9cb-469f-a165-70867728950e', reason: 'x', driver: 'relay', openedAtMs: 1n, closesAtMs: 2n }, generateKeyPair().secretKey);
  const post = (body: Uint8Array) => fetch(`${ledger.httpUrl}/v1/airgap-events`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });
  t.equal((await post(forged)).status, 403, 'a record signed by another key is refused');
  t.equal((await post(new Uint8Array([0x14, 1, 9]))).status, 400, 'malformed bytes are a 400');
  const conflicting = signAirgapWindow({ event: 'open', windowId: window.windowId, reason: 'rewritten', driver: 'relay', openedAtMs: 1n, closesAtMs: 2n }, controllerKey.secretKey);
  t.equal((await post(conflicting)).status, 409, 'history cannot be rewritten');
  t.equal((await fetch(`${ledger.httpUrl}/v1/airgap-events?limit=0`)).status, 400);

  // ingest and rejections show in the metrics
  const m = await meter(M1);
  await m.onboard(1n);
  await m.anchor(1n);
  await m.anchor(2n);
  await m.authenticate(generateKeyPair().secretKey); // a failed authentication
  const scraped = await scrape(ledger.metricsUrl!);
  t.equal(scraped.get('meterseal_ledger_anchors_total'), 2, 'anchors counted');
  t.equal(scraped.get('meterseal_ledger_airgap_windows_total{event="open"}'), 1);
  t.equal(scraped.get('meterseal_ledger_airgap_windows_total{event="close"}'), 1);
  t.ok(scraped.get('meterseal_ledger_airgap_open_seconds_total')! > 0, 'air-gap open seconds from the recorded window');
  t.ok(scraped.get('meterseal_ledger_auth_failed_total')! >= 1 || [...scraped.keys()].some((k) => k.startsWith('meterseal_ledger_rejections_total{')), 'the failed authentication is counted');
  t.ok(scraped.has('meterseal_ledger_checkpoint_age_seconds'));
  t.ok(scraped.get('meterseal_ledger_tree_size')! >= 2);
});

t.test('a required ledger record that fails keeps the window shut', async (t) => {
  const dir = tempDir(t);
  const { ledger } = await startTestLedger(t, { config: { airgapControllerKeys: [] } });
  const api = new URL(ledger.httpUrl);
  const airgap = await startAirgap(
    { target: { host: api.hostname, port: Number(api.port) }, auditLog: join(dir, 'audit.jsonl'), ledgerRecord: { url: ledger.httpUrl, keyFile: join(dir, 'k') } },
    { log: silent },
  );
  t.teardown(() => airgap.close());
  await t.rejects(openWindow({ control: airgap.controlAddress, reason: 'not recorded' }), { code: 'LEDGER_RECORD_FAILED', message: /403/ });
  t.match(airgap.stats(), { open: false, windows: 0 });
});
