// Per-meter MQTT access (issue 5 item 9): the rule set, and the same rules enforced by Debian's mosquitto
// over TLS with a client certificate per meter (CN = meter id, use_identity_as_username, ACL pattern file).
// A meter publishing to another meter's topic gets MQTT 5 PUBACK reason 135 (0x87 Not authorized).
import t from 'tap';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { CollectorTopics, LedgerTopics, responseTopic } from '@meterseal/protocol';
import pino from 'pino';
import { mayPublish, maySubscribe, mosquittoAclFile } from './acl.js';
import { startEmbeddedBroker } from './broker.js';

const M1 = { kind: 'meter', meterId: 'M-1' } as const;

t.test('the rules: own topics and the identity exchanges only', async (t) => {
  t.ok(mayPublish(M1, LedgerTopics.anchor('M-1')));
  t.ok(mayPublish(M1, CollectorTopics.reading('M-1')));
  t.ok(mayPublish(M1, LedgerTopics.register));
  t.notOk(mayPublish(M1, LedgerTopics.anchor('M-2')), 'another meter\'s anchor topic');
  t.notOk(mayPublish(M1, LedgerTopics.anchor('M-10')), 'an id that starts with its own is not its own');
  t.notOk(mayPublish(M1, responseTopic('M-1')), 'no forged responses');
  t.notOk(mayPublish(M1, `${LedgerTopics.anchorPrefix}+`));
  t.ok(maySubscribe(M1, responseTopic('M-1')));
  t.ok(maySubscribe(M1, 'meterseal/v1/meter/M-1/#'));
  t.notOk(maySubscribe(M1, responseTopic('M-2')));
  t.notOk(maySubscribe(M1, 'meterseal/v1/meter/+/response'));
  t.notOk(maySubscribe(M1, '#'));
  t.ok(mayPublish({ kind: 'server' }, responseTopic('M-2')));
});

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return existsSync('/usr/sbin/mosquitto');
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** A test CA (openssl CLI, P-256), a server certificate for 127.0.0.1 and client certificates CN = each name. */
function makeCerts(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-acl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=MeterSeal test CA', '-days', '1');
  const issue = (name: string, cn: string, ext?: string): void => {
    ssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    if (ext) writeFileSync(join(dir, `${name}.ext`), ext);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', ...(ext ? ['-extfile', `${name}.ext`] : []));
  };
  issue('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\n');
  for (const cn of ['M-1', 'M-2', 'meterseal-ledger']) issue(cn, cn);
  return dir;
}

t.test('mosquitto over TLS: CN = meter id, PUBACK 135 for another meter\'s topic', { skip: hasOpenssl() ? false : 'needs openssl and mosquitto' }, async (t) => {
  const dir = makeCerts(t);
  writeFileSync(join(dir, 'acl'), mosquittoAclFile({ servers: ['meterseal-ledger'] }));
  const port = await freePort();
  writeFileSync(join(dir, 'mosquitto.conf'), [
    'per_listener_settings false', 'allow_anonymous false', 'persistence false', 'log_dest stderr', `acl_file ${join(dir, 'acl')}`,
    `listener ${port} 127.0.0.1`, `cafile ${join(dir, 'ca.crt')}`, `certfile ${join(dir, 'server.crt')}`, `keyfile ${join(dir, 'server.key')}`,
    'require_certificate true', 'use_identity_as_username true', '',
  ].join('\n'));
  execFileSync('chmod', ['-R', 'a+rX', dir]); // mosquitto drops root privileges to its own user
  const broker: ChildProcess = spawn('/usr/sbin/mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  broker.stderr!.on('data', (b) => (log += b));
  t.teardown(() => void broker.kill('SIGKILL'));
  const deadline = Date.now() + 20_000;
  while (!log.includes('mosquitto version') || !log.includes(`port ${port}`)) {
    if (Date.now() > deadline || broker.exitCode !== null) throw new Error(`mosquitto did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const connect = (cn: string) => mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
    protocolVersion: 5, ca: readFileSync(join(dir, 'ca.crt')), cert: readFileSync(join(dir, `${cn}.crt`)), key: readFileSync(join(dir, `${cn}.key`)),
    reconnectPeriod: 0, connectTimeout: 10_000,
  });
  const ledger = await connect('meterseal-ledger');
  t.teardown(() => ledger.endAsync(true));
  const m1 = await connect('M-1');
  t.teardown(() => m1.endAsync(true));
  await ledger.subscribeAsync(LedgerTopics.anchorFilter, { qos: 1 });
  const got: string[] = [];
  ledger.on('message', (topic) => got.push(topic));

  await m1.publishAsync(LedgerTopics.anchor('M-1'), Buffer.from('own'), { qos: 1 });
  const refused = await m1.publishAsync(LedgerTopics.anchor('M-2'), Buffer.from('forged'), { qos: 1 }).then(() => null, (e: { code?: number }) => e);
  t.equal(refused?.code, 135, 'PUBACK reason 135 (0x87 Not authorized) for another meter\'s topic');
  // mosquitto 2.0 grants the SUBACK and applies `read` ACLs at delivery: another meter's answers never arrive
  await m1.subscribeAsync(responseTopic('M-2'), { qos: 1 });
  await m1.subscribeAsync(responseTopic('M-1'), { qos: 1 });
  const received: string[] = [];
  const answered = new Promise<void>((resolve) => m1.on('message', (topic, p) => {
    received.push(`${topic} ${p.toString()}`);
    if (topic === responseTopic('M-1')) resolve();
  }));
  await ledger.publishAsync(responseTopic('M-2'), Buffer.from('for M-2'), { qos: 1 });
  await ledger.publishAsync(responseTopic('M-1'), Buffer.from('answer'), { qos: 1 });
  await answered;
  t.same(received, [`${responseTopic('M-1')} answer`], 'its own answer arrives; another meter\'s does not');
  await new Promise((r) => setTimeout(r, 200));
  t.same(got, [LedgerTopics.anchor('M-1')], 'only its own anchor reached the ledger');

  const noCert = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, { protocolVersion: 5, ca: readFileSync(join(dir, 'ca.crt')), reconnectPeriod: 0, connectTimeout: 5000 })
    .then((c) => (c.end(true), 'connected'), () => 'refused');
  t.equal(noCert, 'refused', 'a client without a certificate is refused');
});

t.test('the ledger\'s embedded broker over TLS: client certificate required, CN = meter id, per-meter rules', { skip: hasOpenssl() ? false : 'needs openssl' }, async (t) => {
  const dir = makeCerts(t);
  const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }), tls: { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') } });
  t.teardown(() => broker.close());
  t.match(broker.url, /^mqtts:/);
  const delivered: string[] = [];
  await new Promise<void>((resolve) => broker.aedes.subscribe(LedgerTopics.anchorFilter, (packet, cb) => { delivered.push(packet.topic); cb(); }, resolve));
  const tlsOpts = (cn?: string) => ({
    ca: readFileSync(join(dir, 'ca.crt')), reconnectPeriod: 0, connectTimeout: 5000,
    ...(cn ? { cert: readFileSync(join(dir, `${cn}.crt`)), key: readFileSync(join(dir, `${cn}.key`)) } : {}),
  });
  const m1 = await mqtt.connectAsync(broker.url, tlsOpts('M-1'));
  t.teardown(() => m1.endAsync(true));
  await m1.publishAsync(LedgerTopics.anchor('M-1'), Buffer.from('own'), { qos: 1 });
  const closed = new Promise<void>((resolve) => m1.once('close', () => resolve()));
  void m1.publishAsync(LedgerTopics.anchor('M-2'), Buffer.from('forged'), { qos: 1 }).catch(() => undefined);
  await closed; // aedes (MQTT 3.1.1, no PUBACK reason codes) disconnects a client whose publish is refused
  t.same(delivered, [LedgerTopics.anchor('M-1')], 'only its own anchor was delivered');
  const m2 = await mqtt.connectAsync(broker.url, tlsOpts('M-2'));
  t.teardown(() => m2.endAsync(true));
  t.same((await m2.subscribeAsync(responseTopic('M-2'), { qos: 1 })).map((g) => g.qos), [1], 'its own response topic is granted');
  const other = await m2.subscribeAsync(responseTopic('M-1'), { qos: 1 }).then(() => 'granted', (e: Error) => e.message);
  t.match(other, /Subscribe error/, 'another meter\'s is refused (SUBACK 0x80)');
  const anonymous = await mqtt.connectAsync(broker.url, tlsOpts()).then((c) => (c.end(true), 'connected'), () => 'refused');
  t.equal(anonymous, 'refused', 'no client certificate, no connection');
});
