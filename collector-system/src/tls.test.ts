import t from 'tap';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CollectorTopics, responseTopic } from '@meterseal/protocol';
import { parseCollectorConfig } from './config.js';
import { meterMayPublish, meterMaySubscribe } from './tls-acl.js';
import { inProcessPair, isMeterCn, loadBrokerTls } from './tls.js';

t.test('a certificate CN is a meter only when it is a meter id and not a reserved service name', async (t) => {
  t.ok(isMeterCn('TLS-A'));
  t.ok(isMeterCn('meter.01_x'));
  for (const cn of [undefined, '', 'meterseal-bootstrap', 'MeterSeal-Ledger', 'a/b', 'a+', '#', 'x'.repeat(65)]) t.notOk(isMeterCn(cn), `refused: ${String(cn)}`);
});

t.test('per-meter interface 2 rules', async (t) => {
  t.ok(meterMayPublish('A', CollectorTopics.reading('A')), 'own readings');
  t.ok(meterMayPublish('A', CollectorTopics.keys('A')), 'own key announcements');
  t.notOk(meterMayPublish('A', CollectorTopics.reading('B')), 'not B\'s readings');
  t.notOk(meterMayPublish('A', CollectorTopics.keys('B')), 'not B\'s keys');
  t.notOk(meterMayPublish('A', `${CollectorTopics.reading('A')}/x`), 'not below its topic');
  t.notOk(meterMayPublish('A', CollectorTopics.reading('AB')), 'not a longer id that starts with its own');
  t.notOk(meterMayPublish('A', responseTopic('A')), 'not its response topic (only the collector answers)');
  t.ok(meterMaySubscribe('A', responseTopic('A')), 'own response topic');
  t.ok(meterMaySubscribe('A', 'meterseal/v1/meter/A/#'), 'a wildcard inside its own subtree');
  t.notOk(meterMaySubscribe('A', responseTopic('B')), 'not B\'s responses');
  t.notOk(meterMaySubscribe('A', 'meterseal/v1/meter/AB/response'), 'not a longer id');
  t.notOk(meterMaySubscribe('A', 'meterseal/v1/meter/+/response'), 'no wildcard over the id');
  t.notOk(meterMaySubscribe('A', '#'), 'not everything');
  t.notOk(meterMaySubscribe('A', CollectorTopics.readingFilter), 'not the readings');
});

t.test('inProcessPair carries bytes both ways and a destroy reaches the other end', async (t) => {
  const [a, b] = inProcessPair();
  const got = new Promise<string>((resolve) => b.once('data', (d: Buffer) => resolve(d.toString())));
  a.write('hello');
  t.equal(await got, 'hello');
  const back = new Promise<string>((resolve) => a.once('data', (d: Buffer) => resolve(d.toString())));
  b.write('world');
  t.equal(await back, 'world');
  const closed = new Promise<void>((resolve) => b.once('close', () => resolve()));
  a.destroy();
  await closed;
  t.ok(b.destroyed, 'the other end is destroyed too');
});

t.test('loadBrokerTls checks the files and names the bad one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-collector-tlsfiles-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const p = (f: string) => join(dir, f);
  const run = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '2', '-subj', '/CN=ca',
    '-addext', 'basicConstraints=critical,CA:TRUE');
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('srv.key'), '-out', p('srv.crt'), '-days', '2', '-subj', '/CN=srv',
    '-addext', 'basicConstraints=critical,CA:FALSE');
  chmodSync(p('srv.key'), 0o600);
  chmodSync(p('ca.key'), 0o600);
  const ok = loadBrokerTls({ cert: p('srv.crt'), key: p('srv.key'), clientCa: p('ca.crt') });
  t.match(ok.ca, /BEGIN CERTIFICATE/);
  t.throws(() => loadBrokerTls({ cert: p('srv.crt'), key: p('ca.key'), clientCa: p('ca.crt') }), { code: 'CONFIG_INVALID', message: /is not the key of/ });
  t.throws(() => loadBrokerTls({ cert: p('srv.crt'), key: p('srv.key'), clientCa: p('srv.crt') }), { code: 'CONFIG_INVALID', message: /not a CA certificate/ });
  t.throws(() => loadBrokerTls({ cert: p('srv.crt'), key: p('srv.key'), clientCa: p('missing.crt') }), { code: 'CONFIG_INVALID', message: /missing\.crt/ });
  writeFileSync(p('junk.crt'), 'not a certificate');
  t.throws(() => loadBrokerTls({ cert: p('srv.crt'), key: p('srv.key'), clientCa: p('junk.crt') }), { code: 'CONFIG_INVALID', message: /not a PEM certificate/ });
  chmodSync(p('srv.key'), 0o644);
  t.throws(() => loadBrokerTls({ cert: p('srv.crt'), key: p('srv.key'), clientCa: p('ca.crt') }), { code: 'CONFIG_INVALID', message: /readable by group or others/ });
});

t.test('mqtt.tls is for the embedded broker only', async (t) => {
  const tls = { cert: 'c', key: 'k', clientCa: 'ca' };
  t.same(parseCollectorConfig({ dataDir: '/x', mqtt: { tls } }).mqtt.tls, tls);
  t.throws(() => parseCollectorConfig({ dataDir: '/x', mqtt: { url: 'mqtts://b:8883', tls } }), { code: 'CONFIG_INVALID', message: /tls configures the embedded broker/ });
  t.equal(parseCollectorConfig({ dataDir: '/x' }).mqtt.tls, undefined, 'plain MQTT by default');
});
