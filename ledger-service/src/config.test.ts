import t from 'tap';
import { join } from 'node:path';
import { LedgerConfigSchema, parseLedgerConfig } from './config.js';

t.test('defaults', async (t) => {
  const c = parseLedgerConfig({ dataDir: '/d' });
  t.same(c, {
    dataDir: '/d',
    origin: 'meterseal.local/ledger',
    mqtt: { embedded: true, host: '127.0.0.1', port: 1883 },
    http: { host: '127.0.0.1', port: 8480 },
    whitelistFile: join('/d', 'whitelist.json'),
    checkpointIntervalMs: 1000,
    challengeTtlMs: 30000,
    bindWindowMs: 300000,
    maxRangePerRequest: 10000,
    ingest: { maxGroup: 512 },
    witnesses: [],
    airgapControllerKeys: [],
    metrics: { enabled: false, host: '127.0.0.1', port: 9480 },
    witnessQuorum: 0,
    maxMergeDelayMs: 300000,
    meterCa: { enabled: false, hosts: ['127.0.0.1', 'localhost'], meterCertDays: 365 },
  });
  t.same(parseLedgerConfig(c), c, 'a parsed config parses to itself');
});

t.test('an external broker url turns the embedded broker off', async (t) => {
  const c = parseLedgerConfig({ dataDir: '/d', mqtt: { url: 'mqtt://127.0.0.1:1884' } });
  t.equal(c.mqtt.embedded, false);
  t.equal(c.mqtt.url, 'mqtt://127.0.0.1:1884');
  t.throws(() => parseLedgerConfig({ dataDir: '/d', mqtt: { embedded: false } }), /mqtt: mqtt.url is required/);
  t.throws(() => parseLedgerConfig({ dataDir: '/d', mqtt: { protocolVersion: 5 } }), /does not speak MQTT 5/);
  t.throws(() => parseLedgerConfig({ dataDir: '/d', mqtt: { url: 'http://x' } }), { code: 'CONFIG_INVALID' });
});

t.test('errors name the field', async (t) => {
  t.throws(() => parseLedgerConfig({}), /dataDir/);
  t.throws(() => parseLedgerConfig({ dataDir: '/d', http: { port: 70000 } }), /http\.port/);
  t.throws(() => parseLedgerConfig({ dataDir: '/d', origin: 'has space' }), /origin: must contain no whitespace/);
  t.throws(() => parseLedgerConfig({ dataDir: '/d', bogus: 1 }), /bogus/);
  t.ok(LedgerConfigSchema.safeParse({ dataDir: '/d', mqtt: { port: 0 }, http: { port: 0 } }).success, 'port 0 = ephemeral');
  t.throws(() => parseLedgerConfig({ dataDir: '/d', ingest: { maxGroup: 0 } }), /ingest\.maxGroup/);
  t.equal(parseLedgerConfig({ dataDir: '/d', ingest: { verifyWorkers: 0 } }).ingest.verifyWorkers, 0, '0: verify on the event loop');
});
