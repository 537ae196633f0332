// Issue 5 item 9 on interface 2: the collector's embedded broker (aedes) over TLS, requiring client
// certificates from the ledger's meter CA. A real ledger (meter CA on) issues meter TLS-A its certificate at
// registration; the real agent then delivers readings to the real collector over mqtts with that certificate.
// Meter A's certificate reaches only meter A's interface 2 topics; a certificate from another CA, no
// certificate, and the shared bootstrap certificate get nothing.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import mqtt from 'mqtt';
import pino from 'pino';
import { CollectorTopics, responseTopic } from '@meterseal/protocol';
import { startLedger } from '@meterseal/ledger-service';
import { startCollector } from '@meterseal/collector-system';
import { startAgent } from '@meterseal/device';
import { countingSource, waitUntil } from '../../edge-gateway/src/testing.js';

const log = pino({ level: process.env.TLS_TEST_LOG ?? 'silent' });
/** The collector's warnings, to see which identities reached its broker. */
const collectorWarnings: string[] = [];
const collectorLog = pino({ level: 'warn' }, { write: (line: string) => void collectorWarnings.push(line) });
const bootstrapRefusals = (): number => collectorWarnings.filter((l) => l.includes('CN is not a meter id')).length;

/** A CA and a certificate it signs (openssl 3, P-256): the collector's server certificate, or a stranger client. */
function opensslPki(dir: string, name: string, leafCn: string, ext: string): { ca: string; cert: string; key: string } {
  const p = (f: string) => join(dir, `${name}-${f}`);
  const run = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.crt'),
    '-days', '30', '-subj', `/CN=${name} test CA`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('leaf.key'), '-out', p('leaf.csr'), '-subj', `/CN=${leafCn}`);
  writeFileSync(p('ext.cnf'), `${ext}\nbasicConstraints=CA:FALSE\n`);
  run('x509', '-req', '-in', p('leaf.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('leaf.crt'), '-days', '30', '-extfile', p('ext.cnf'));
  chmodSync(p('leaf.key'), 0o600);
  return { ca: p('ca.crt'), cert: p('leaf.crt'), key: p('leaf.key') };
}

/** Connects and reports how it ended: 'connected', or the refusal. */
function attempt(url: string, opts: mqtt.IClientOptions): Promise<{ outcome: string; client: mqtt.MqttClient }> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 10_000, protocolVersion: 4, ...opts });
  return new Promise((resolve) => {
    client.once('connect', () => resolve({ outcome: 'connected', client }));
    client.once('error', (e) => resolve({ outcome: `refused: ${e.message}`, client }));
    client.once('close', () => resolve({ outcome: 'refused: closed', client }));
  });
}

t.test('interface 2 over TLS with the meter CA\'s per-meter certificates', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-collector-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ledgerDir = join(dir, 'ledger');
  mkdirSync(ledgerDir);
  writeFileSync(join(ledgerDir, 'whitelist.json'), JSON.stringify({ meters: [{ meterId: 'TLS-A', customerAccount: 'ACC-A' }, { meterId: 'TLS-B', customerAccount: 'ACC-B' }] }));
  const ledger = await startLedger({ dataDir: ledgerDir, mqtt: { port: 0 }, http: { port: 0 }, meterCa: { enabled: true } }, { log });
  t.teardown(() => ledger.close());
  const files = ledger.meterCa!;

  // the collector's server certificate comes from a CA of the collector operator's (pinned by agents as collector.tls.ca)
  const server = opensslPki(dir, 'collector', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth');
  const collector = await startCollector({
    dataDir: join(dir, 'collector'),
    mqtt: { port: 0, tls: { cert: server.cert, key: server.key, clientCa: files.caCert } },
    trust: { ledgerKeyDir: ledgerDir },
  }, { log: collectorLog });
  t.teardown(() => collector.close());
  t.match(collector.mqttUrl, /^mqtts:\/\/127\.0\.0\.1:\d+$/, 'the collector\'s embedded broker speaks TLS');

  const agentDir = join(dir, 'agent');
  const agent = await startAgent({
    dataDir: agentDir, meterId: 'TLS-A', customerAccount: 'ACC-A', intervalMs: 200, requestTimeoutMs: 10_000,
    ledger: { url: ledger.mqttUrl, tls: { ca: files.caCert, bootstrapCert: files.bootstrapCert, bootstrapKey: files.bootstrapKey } },
    collector: { url: collector.mqttUrl, tls: { ca: server.ca } },
  }, { log, source: countingSource() });
  t.teardown(() => agent.close());
  await agent.enrolled;
  await waitUntil('readings collected over TLS with the meter\'s own certificate', () => collector.stats().collected >= 3, 60_000);
  const stored = await collector.store.readings('TLS-A', 1n, 10_000n);
  t.ok(stored.length >= 3, `readings of TLS-A stored (${stored.length})`);
  t.equal(bootstrapRefusals(), 0, 'the agent never presented its bootstrap identity to the collector (it waited for its own certificate)');

  const tlsOpts = (cert: string, key: string): mqtt.IClientOptions => ({ ca: readFileSync(server.ca), cert: readFileSync(cert), key: readFileSync(key) });
  const meterA = tlsOpts(join(agentDir, 'tls-client.crt'), join(agentDir, 'tls-client.key'));

  // meter A's certificate: its own topics only
  const a = await attempt(collector.mqttUrl, meterA);
  t.teardown(() => a.client.endAsync(true));
  t.equal(a.outcome, 'connected', 'meter A\'s certificate connects');
  t.same((await a.client.subscribeAsync(`${responseTopic('TLS-A')}`, { qos: 1 })).map((g) => g.qos), [1], 'A may read its own response topic');
  const otherSub = await a.client.subscribeAsync(responseTopic('TLS-B'), { qos: 1 }).then(() => 'granted', (e: Error) => e.message);
  t.match(otherSub, /Subscribe error/, 'A may not read B\'s response topic (SUBACK 0x80)');
  const wildSub = await a.client.subscribeAsync('meterseal/v1/meter/+/response', { qos: 1 }).then(() => 'granted', (e: Error) => e.message);
  t.match(wildSub, /Subscribe error/, 'A may not read every meter\'s responses through a wildcard');

  // control: a malformed message on A's own topic reaches the collector (and is refused there, MALFORMED)
  const malformedBefore = collector.stats().rejected.MALFORMED ?? 0;
  await a.client.publishAsync(CollectorTopics.reading('TLS-A'), Buffer.from('not a delivery'), { qos: 1 });
  await waitUntil('the collector saw A\'s own-topic message', () => (collector.stats().rejected.MALFORMED ?? 0) > malformedBefore, 30_000);

  // A publishing to B's topic: aedes (MQTT 3.1.1 has no PUBACK reason code) drops the connection
  const before = collector.stats();
  const closed = new Promise<string>((resolve) => a.client.once('close', () => resolve('disconnected')));
  const acked = (topic: string) => a.client.publishAsync(topic, Buffer.from('forged for B'), { qos: 1 }).then(() => `PUBACK for ${topic}`, () => new Promise<string>(() => {}));
  const outcome = await Promise.race([closed, acked(CollectorTopics.reading('TLS-B')), acked(CollectorTopics.keys('TLS-B'))]);
  t.equal(outcome, 'disconnected', 'meter A publishing to meter B\'s collector topics is disconnected, with no PUBACK');
  // barrier: a later message on A's own topic reaches the intake after anything the broker passed on before it
  const a2 = await attempt(collector.mqttUrl, meterA);
  t.teardown(() => a2.client.endAsync(true));
  await a2.client.publishAsync(CollectorTopics.reading('TLS-A'), Buffer.from('barrier'), { qos: 1 });
  const beforeMalformed = before.rejected.MALFORMED ?? 0;
  await waitUntil('the barrier message reached the collector', () => (collector.stats().rejected.MALFORMED ?? 0) > beforeMalformed, 30_000);
  await collector.idle();
  t.same(collector.stats().rejected, { ...before.rejected, MALFORMED: beforeMalformed + 1 }, 'the forged messages never reached the collector\'s intake (only the barrier did)');
  t.equal((await collector.store.readings('TLS-B', 0n, 10_000n)).length, 0, 'nothing stored for meter B');

  // a certificate from another CA, even naming a real meter: refused at TLS
  const stranger = opensslPki(dir, 'stranger', 'TLS-A', 'extendedKeyUsage=clientAuth');
  const s = await attempt(collector.mqttUrl, tlsOpts(stranger.cert, stranger.key));
  s.client.end(true);
  t.match(s.outcome, /^refused/, `a client certificate from another CA is refused at TLS (${s.outcome})`);

  // no client certificate: refused at TLS
  const n = await attempt(collector.mqttUrl, { ca: readFileSync(server.ca) });
  n.client.end(true);
  t.match(n.outcome, /^refused/, `no client certificate is refused at TLS (${n.outcome})`);

  // the shared bootstrap certificate (meter CA, CN meterseal-bootstrap): TLS succeeds, CONNECT is refused
  const b = await attempt(collector.mqttUrl, tlsOpts(files.bootstrapCert, files.bootstrapKey));
  b.client.end(true);
  t.match(b.outcome, /^refused: Connection refused: Not authorized/, 'the bootstrap identity is not a meter on interface 2');
  t.ok(bootstrapRefusals() >= 1, 'and the collector logs that refusal (what the check above counts)');

  // claiming to be the collector's own client over the network (with meter A's certificate): refused
  const c = await attempt(collector.mqttUrl, { ...meterA, username: 'meterseal-collector', password: 'guess' });
  c.client.end(true);
  t.match(c.outcome, /^refused: Connection refused: Bad username or password/, 'the collector\'s own login is not accepted over the network');

  // the packet-size guard still applies on TLS: a CONNECT declaring ~256 MiB is cut before it is buffered
  const port = Number(new URL(collector.mqttUrl).port);
  const cut = await new Promise<string>((resolve) => {
    const sock = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(server.ca), cert: readFileSync(join(agentDir, 'tls-client.crt')), key: readFileSync(join(agentDir, 'tls-client.key')) }, () => {
      sock.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f])); // MQTT 3.1.1 §2.2.3: Remaining Length 268,435,455
    });
    const guard = setTimeout(() => { sock.destroy(); resolve('still open after 20 s'); }, 20_000); // aedes' own CONNECT timeout is 30 s
    sock.on('error', () => undefined);
    sock.once('close', () => { clearTimeout(guard); resolve('closed'); });
  });
  t.equal(cut, 'closed', 'an oversized packet over TLS is cut by the packet guard');

  t.ok(collector.stats().collected >= 3, 'the agent\'s readings kept arriving');
});
