// Issue 5 item 9 on Debian's mosquitto 2 (/usr/sbin/mosquitto): a TLS listener with `require_certificate true`,
// `use_identity_as_username true` and the per-meter ACL of acl.ts, trusting the ledger's meter CA. Two meter
// agents start on the shared bootstrap certificate, register with a CSR and come back with their own
// certificates (CN = meter id). Then: meter A publishing to its own anchor topic is accepted, to meter B's
// gets MQTT 5 PUBACK 135 (0x87 Not authorized); the bootstrap identity reaches only the registration topics;
// a certificate from another CA, or none, is refused at TLS.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { CollectorTopics, LedgerTopics, bootstrapResponseTopic, gapTopic, responseTopic } from '@meterseal/protocol';
import { BOOTSTRAP_CN, LEDGER_CN, MeterCa, mosquittoAclFile, startLedger } from '@meterseal/ledger-service';
import { startAgent } from '@meterseal/device';
import { countingSource, ledgerAnchors, waitUntil } from '../../edge-gateway/src/testing.js';
import { freePort } from './harness.js';

const MOSQUITTO = '/usr/sbin/mosquitto';
const log = pino({ level: 'silent' });

/** How a connection attempt ends: CONNACK, or refused (TLS alert, reset or error). */
function outcome(c: MqttClient): Promise<string> {
  return new Promise((resolve) => {
    c.once('connect', () => resolve('connected'));
    c.once('error', (e) => resolve(`refused: ${e.message}`));
    c.once('close', () => resolve('refused: closed'));
  });
}

t.test('mosquitto with the ledger\'s meter CA: bootstrap, CN = meter id, PUBACK 135', { skip: existsSync(MOSQUITTO) ? false : 'needs /usr/sbin/mosquitto' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-mosq-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ledgerDir = join(dir, 'ledger');
  mkdirSync(ledgerDir);
  writeFileSync(join(ledgerDir, 'whitelist.json'), JSON.stringify({ meters: [{ meterId: 'MA', customerAccount: 'ACC-A' }, { meterId: 'MB', customerAccount: 'ACC-B' }] }));
  // The CA and the service certificates, as the ledger makes them on first start (meter-ca.ts).
  const files = MeterCa.open({ dataDir: ledgerDir, hosts: ['127.0.0.1', 'localhost'], meterCertDays: 365 }).files;

  // mosquitto's own copy of its certificate and key, readable by the mosquitto user only (it drops root)
  const mdir = join(dir, 'mosquitto');
  mkdirSync(mdir);
  for (const [from, to] of [[files.caCert, 'ca.crt'], [files.serverCert, 'server.crt'], [files.serverKey, 'server.key']] as const) copyFileSync(from, join(mdir, to));
  writeFileSync(join(mdir, 'acl'), mosquittoAclFile({ servers: [LEDGER_CN], bootstrap: BOOTSTRAP_CN }));
  const port = await freePort();
  writeFileSync(join(mdir, 'mosquitto.conf'), [
    'per_listener_settings false', 'allow_anonymous false', 'persistence false', 'log_dest stderr', `acl_file ${join(mdir, 'acl')}`,
    `listener ${port} 127.0.0.1`, `cafile ${join(mdir, 'ca.crt')}`, `certfile ${join(mdir, 'server.crt')}`, `keyfile ${join(mdir, 'server.key')}`,
    'require_certificate true', 'use_identity_as_username true', '',
  ].join('\n'));
  if (userInfo().uid === 0) {
    const { execFileSync } = await import('node:child_process');
    const [uid, gid] = ['-u', '-g'].map((f) => Number(execFileSync('id', [f, 'mosquitto']).toString().trim()));
    for (const f of ['ca.crt', 'server.crt', 'server.key', 'acl', 'mosquitto.conf', '']) chownSync(join(mdir, f), uid!, gid!);
    execFileSync('chmod', ['o+x', dir]);
  }
  const broker: ChildProcess = spawn(MOSQUITTO, ['-c', join(mdir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let blog = '';
  broker.stderr!.on('data', (b) => (blog += b));
  t.teardown(() => void broker.kill('SIGKILL'));
  await waitUntil('mosquitto listens', () => {
    if (broker.exitCode !== null) throw new Error(`mosquitto exited:\n${blog}`);
    return blog.includes(`port ${port}`);
  }, 20_000);

  const url = `mqtts://127.0.0.1:${port}`;
  const ledger = await startLedger({ dataDir: ledgerDir, mqtt: { url }, http: { port: 0 }, meterCa: { enabled: true } }, { log });
  t.teardown(() => ledger.close());

  const collectorPort = await freePort(); // nothing listens there: only the ledger interface is under test
  const agents = await Promise.all(['MA', 'MB'].map((id, i) => startAgent({
    dataDir: join(dir, id), meterId: id, customerAccount: `ACC-${id.slice(1)}`, intervalMs: 300, requestTimeoutMs: 10_000,
    ledger: { url, tls: { ca: files.caCert, bootstrapCert: files.bootstrapCert, bootstrapKey: files.bootstrapKey } },
    collector: { url: `mqtt://127.0.0.1:${collectorPort}` },
  }, { log, source: countingSource(), ...(i === 0 ? { now: () => 0 } : {}) }))); // MA's clock reads 1970 (no RTC)
  t.teardown(() => Promise.all(agents.map((a) => a.close())));
  await Promise.all(agents.map((a) => a.enrolled));
  await waitUntil('both meters anchor readings over their own certificates', () => {
    const a = ledgerAnchors(ledgerDir);
    return (a.get('MA')?.length ?? 0) >= 1 && (a.get('MB')?.length ?? 0) >= 1;
  }, 60_000);
  t.pass('two agents registered through the bootstrap identity and anchor with their own certificates');

  const connect = (cert: string, key: string): MqttClient => mqtt.connect(url, {
    protocolVersion: 5, ca: readFileSync(files.caCert), cert: readFileSync(cert), key: readFileSync(key), reconnectPeriod: 0, connectTimeout: 10_000,
  });
  const open = async (cert: string, key: string): Promise<MqttClient> => {
    const c = connect(cert, key);
    t.teardown(() => c.endAsync(true));
    t.equal(await outcome(c), 'connected');
    return c;
  };
  const pubCode = (c: MqttClient, topic: string): Promise<number> =>
    c.publishAsync(topic, Buffer.from('x'), { qos: 1 }).then((p) => (p as { reasonCode?: number } | undefined)?.reasonCode ?? 0, (e: { code?: number }) => e.code ?? -1);

  const a = await open(join(dir, 'MA', 'tls-client.crt'), join(dir, 'MA', 'tls-client.key'));
  t.equal(await pubCode(a, LedgerTopics.anchor('MA')), 0, 'meter A publishes to its own anchor topic');
  t.equal(await pubCode(a, LedgerTopics.anchor('MB')), 135, 'meter A publishing to meter B\'s anchor topic: PUBACK 135 (Not authorized)');
  t.equal(await pubCode(a, CollectorTopics.reading('MB')), 135, '... and to meter B\'s reading topic');
  t.equal(await pubCode(a, gapTopic('MA')), 0, 'its own gap records (docs/protocol.md §12) are allowed');
  t.equal(await pubCode(a, gapTopic('MB')), 135, 'another meter\'s gap topic is not');

  const boot = await open(files.bootstrapCert, files.bootstrapKey);
  t.equal(await pubCode(boot, LedgerTopics.register), 0, 'bootstrap may publish a registration');
  for (const topic of [LedgerTopics.challenge, LedgerTopics.auth, LedgerTopics.bind, LedgerTopics.receipt, LedgerTopics.anchor('MA'), LedgerTopics.anchor(BOOTSTRAP_CN), CollectorTopics.reading('MA')]) {
    t.equal(await pubCode(boot, topic), 135, `bootstrap publishing to ${topic}: PUBACK 135`);
  }
  // mosquitto 2.0 grants a SUBACK and applies `read` rules per message: only bootstrap answers arrive
  await boot.subscribeAsync([responseTopic('MA'), bootstrapResponseTopic('MA'), `meterseal/v1/meter/${BOOTSTRAP_CN}/response`], { qos: 1 });
  const got: string[] = [];
  const arrived = new Promise<void>((resolve) => boot.on('message', (topic) => {
    got.push(topic);
    if (topic === bootstrapResponseTopic('MA')) resolve();
  }));
  const server = await open(files.ledgerCert, files.ledgerKey); // the ledger's identity (CN meterseal-ledger)
  for (const topic of [responseTopic('MA'), `meterseal/v1/meter/${BOOTSTRAP_CN}/response`, bootstrapResponseTopic('MA')]) {
    await server.publishAsync(topic, Buffer.from('answer'), { qos: 1 });
  }
  await arrived;
  t.same(got, [bootstrapResponseTopic('MA')], 'bootstrap receives only bootstrap answers, not a meter\'s responses');

  const stranger = MeterCa.open({ dataDir: join(dir, 'other-ca'), hosts: ['127.0.0.1'], meterCertDays: 1 }).files;
  const foreign = mqtt.connect(url, {
    protocolVersion: 5, ca: readFileSync(files.caCert), cert: readFileSync(stranger.bootstrapCert), key: readFileSync(stranger.bootstrapKey), reconnectPeriod: 0, connectTimeout: 10_000,
  });
  t.match(await outcome(foreign), /^refused/, 'a client certificate from another CA is refused at TLS');
  foreign.end(true);
  const none = mqtt.connect(url, { protocolVersion: 5, ca: readFileSync(files.caCert), reconnectPeriod: 0, connectTimeout: 10_000 });
  t.match(await outcome(none), /^refused/, 'no client certificate: refused');
  none.end(true);
});
