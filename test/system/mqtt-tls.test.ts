// Issue 5 item 9 on the ledger's embedded broker (aedes over TLS): a meter agent whose clock reads 1970 (a
// board without a real-time clock) starts on the shared bootstrap certificate, registers with a CSR of its
// own TLS key, gets a client certificate (CN = meter id) from the ledger's meter CA, reconnects with it and
// anchors readings. The bootstrap identity reaches only the registration topics; a meter certificate only
// its own topics; a certificate from another CA is refused at TLS.
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { LedgerTopics, bootstrapResponseTopic, responseTopic } from '@meterseal/protocol';
import { startLedger } from '@meterseal/ledger-service';
import { startAgent } from '@meterseal/device';
import { countingSource, ledgerAnchors, waitUntil } from '../../edge-gateway/src/testing.js';
import { freePort } from './harness.js';

const log = pino({ level: process.env.TLS_TEST_LOG ?? 'silent' });

t.test('embedded broker over TLS: bootstrap, per-meter certificate, no-RTC agent', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ledgerDir = join(dir, 'ledger');
  mkdirSync(ledgerDir);
  writeFileSync(join(ledgerDir, 'whitelist.json'), JSON.stringify({ meters: [{ meterId: 'TLS-1', customerAccount: 'ACC-1' }, { meterId: 'TLS-2', customerAccount: 'ACC-2' }] }));
  const ledger = await startLedger({ dataDir: ledgerDir, mqtt: { port: 0 }, http: { port: 0 }, meterCa: { enabled: true } }, { log });
  t.teardown(() => ledger.close());
  t.match(ledger.mqttUrl, /^mqtts:\/\/127\.0\.0\.1:\d+$/, 'the embedded broker speaks TLS when the meter CA is on');
  const files = ledger.meterCa!;
  t.equal(statSync(join(ledgerDir, 'meter-ca.key')).mode & 0o777, 0o600, 'CA key mode 0600');

  const collectorPort = await freePort(); // nothing listens: only the ledger interface matters here
  const agentDir = join(dir, 'agent');
  const agent = await startAgent({
    dataDir: agentDir, meterId: 'TLS-1', customerAccount: 'ACC-1', intervalMs: 200, requestTimeoutMs: 10_000,
    ledger: { url: ledger.mqttUrl, tls: { ca: files.caCert, bootstrapCert: files.bootstrapCert, bootstrapKey: files.bootstrapKey } },
    collector: { url: `mqtt://127.0.0.1:${collectorPort}` },
  }, { log, source: countingSource(), now: () => 0 }); // the agent's TLS checks see 1 January 1970
  t.teardown(() => agent.close());
  await agent.enrolled;
  const issued = new X509Certificate(readFileSync(join(agentDir, 'tls-client.crt')));
  t.match(issued.subject, /^CN=TLS-1$/m, 'client certificate CN = meter id');
  t.ok(issued.verify(new X509Certificate(readFileSync(files.caCert)).publicKey), 'issued by the ledger\'s meter CA');
  t.equal(statSync(join(agentDir, 'tls-client.key')).mode & 0o777, 0o600, 'the meter\'s TLS key stays on the meter, mode 0600');
  t.ok(issued.checkPrivateKey(
    (await import('node:crypto')).createPrivateKey(readFileSync(join(agentDir, 'tls-client.key'))),
  ), 'the certificate is for the key the agent made');
  await waitUntil('readings anchored over the meter\'s own TLS identity', () => (ledgerAnchors(ledgerDir).get('TLS-1')?.length ?? 0) >= 2, 60_000);

  const connect = (cert: string, key: string, ca = files.caCert) => mqtt.connectAsync(ledger.mqttUrl, {
    ca: readFileSync(ca), cert: readFileSync(cert), key: readFileSync(key), reconnectPeriod: 0, connectTimeout: 10_000,
  });

  // the bootstrap identity: registration topic and bootstrap answers only
  const boot = await connect(files.bootstrapCert, files.bootstrapKey);
  t.teardown(() => boot.endAsync(true));
  t.same((await boot.subscribeAsync(bootstrapResponseTopic('TLS-2'), { qos: 1 })).map((g) => g.qos), [1], 'bootstrap may read bootstrap answers');
  const refusedSub = await boot.subscribeAsync(responseTopic('TLS-1'), { qos: 1 }).then(() => 'granted', (e: Error) => e.message);
  t.match(refusedSub, /Subscribe error/, 'bootstrap may not read a meter\'s response topic (SUBACK 0x80)');
  await boot.publishAsync(LedgerTopics.register, Buffer.from('not a record'), { qos: 1 }); // accepted by the broker (the ledger refuses it)
  const closed = new Promise<void>((resolve) => boot.once('close', () => resolve()));
  void boot.publishAsync(LedgerTopics.challenge, Buffer.from('{"meterId":"TLS-1"}'), { qos: 1 }).catch(() => undefined);
  await closed; // aedes (MQTT 3.1.1: no PUBACK reason codes) drops a client whose publish is refused
  t.pass('bootstrap publishing outside the registration topic is refused (disconnected)');

  // a meter certificate reaches only its own topics
  const m1 = await connect(join(agentDir, 'tls-client.crt'), join(agentDir, 'tls-client.key'));
  t.teardown(() => m1.endAsync(true));
  const other = await m1.subscribeAsync(bootstrapResponseTopic('TLS-2'), { qos: 1 }).then(() => 'granted', (e: Error) => e.message);
  t.match(other, /Subscribe error/, 'a meter may not read bootstrap answers');
  const m1closed = new Promise<void>((resolve) => m1.once('close', () => resolve()));
  void m1.publishAsync(LedgerTopics.anchor('TLS-2'), Buffer.from('forged'), { qos: 1 }).catch(() => undefined);
  await m1closed;
  t.pass('a meter publishing to another meter\'s anchor topic is refused');

  // a certificate from another CA: no TLS connection
  const stranger = mkdtempSync(join(tmpdir(), 'meterseal-tls-other-'));
  t.teardown(() => rmSync(stranger, { recursive: true, force: true }));
  const otherLedger = await startLedger({ dataDir: stranger, mqtt: { port: 0 }, http: { port: 0 }, meterCa: { enabled: true } }, { log });
  const otherFiles = otherLedger.meterCa!;
  await otherLedger.close();
  const c = mqtt.connect(ledger.mqttUrl, {
    ca: readFileSync(files.caCert), cert: readFileSync(otherFiles.bootstrapCert), key: readFileSync(otherFiles.bootstrapKey), reconnectPeriod: 0, connectTimeout: 10_000,
  });
  // TLS 1.3: the server's refusal of the client certificate arrives after the client's handshake is done
  const refused = await new Promise<string>((resolve) => {
    c.once('connect', () => resolve('connected'));
    c.once('error', (e) => resolve(`refused: ${e.message}`));
    c.once('close', () => resolve('refused: closed'));
  });
  c.end(true);
  t.match(refused, /^refused/, 'a client certificate from another CA is refused at TLS');
});

t.test('renewal: a certificate expiring within 30 days is replaced at the next registration (session-key rotation)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-tls-renew-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ledgerDir = join(dir, 'ledger');
  mkdirSync(ledgerDir);
  writeFileSync(join(ledgerDir, 'whitelist.json'), JSON.stringify({ meters: [{ meterId: 'TLS-R', customerAccount: 'ACC-R' }] }));
  const ledger = await startLedger({ dataDir: ledgerDir, mqtt: { port: 0 }, http: { port: 0 }, meterCa: { enabled: true, meterCertDays: 10 } }, { log });
  t.teardown(() => ledger.close());
  const files = ledger.meterCa!;
  const agentDir = join(dir, 'agent');
  const agent = await startAgent({
    dataDir: agentDir, meterId: 'TLS-R', customerAccount: 'ACC-R', intervalMs: 3_600_000, requestTimeoutMs: 10_000,
    ledger: { url: ledger.mqttUrl, tls: { ca: files.caCert, bootstrapCert: files.bootstrapCert, bootstrapKey: files.bootstrapKey } },
    collector: { url: `mqtt://127.0.0.1:${await freePort()}` },
  }, { log, source: countingSource() });
  t.teardown(() => agent.close());
  await agent.enrolled;
  const first = new X509Certificate(readFileSync(join(agentDir, 'tls-client.crt')));
  await agent.rotateSessionKey();
  const second = new X509Certificate(readFileSync(join(agentDir, 'tls-client.crt')));
  t.not(second.serialNumber, first.serialNumber, 'a new certificate was issued and stored');
  t.match(second.subject, /^CN=TLS-R$/m);
  t.ok(second.checkPrivateKey((await import('node:crypto')).createPrivateKey(readFileSync(join(agentDir, 'tls-client.key')))), 'for the same TLS key');
  await agent.readNow();
  await waitUntil('the reading anchored after the renewal', () => (ledgerAnchors(ledgerDir).get('TLS-R')?.length ?? 0) >= 1, 30_000);
});
