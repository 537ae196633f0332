import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseCollectorConfig } from './config.js';
import { replyTarget } from './ingest.js';
import { makeLedgerKey } from './testing/fixtures.js';
import { loadTrust } from './trust.js';

t.test('defaults', async (t) => {
  t.same(parseCollectorConfig({ dataDir: '/d' }), {
    dataDir: '/d',
    mqtt: { embedded: true, host: '127.0.0.1', port: 1884, maxPacketBytes: 65536 },
    trust: {},
    airgap: { host: '127.0.0.1', port: 8490 },
    readingIntervalMs: 900_000,
    reconcileMaxWindowMs: 60_000,
    ingest: true,
    maxPending: 100_000,
    dashboard: {
      enabled: false, host: '127.0.0.1', port: 8470, operators: [], sessionTtlMs: 28_800_000, secureCookie: false,
      loginMaxFailures: 5, loginWindowMs: 900_000, silentAfterMs: 300_000,
    },
    metrics: { enabled: false, host: '127.0.0.1', port: 9470 },
  });
  const parsed = parseCollectorConfig({ dataDir: '/d', mqtt: { url: 'mqtt://broker:1883' } });
  t.match(parsed.mqtt, { embedded: false, url: 'mqtt://broker:1883' }, 'a url means an external broker');
  t.same(parseCollectorConfig(parsed), parsed, 'a parsed config parses to itself');
});

t.test('invalid configs name the field', async (t) => {
  t.throws(() => parseCollectorConfig({}), { code: 'CONFIG_INVALID', message: /dataDir/ });
  t.throws(() => parseCollectorConfig({ dataDir: '/d', mqtt: { embedded: true, url: 'mqtt://x:1' } }), { message: /embedded/ });
  t.throws(() => parseCollectorConfig({ dataDir: '/d', mqtt: { embedded: false } }), { message: /no url/ });
  t.throws(() => parseCollectorConfig({ dataDir: '/d', trust: { ledgerPublicKey: 'abc' } }), { message: /trust\.ledgerPublicKey/ });
  t.throws(() => parseCollectorConfig({ dataDir: '/d', extra: 1 }), { message: /extra|Unrecognized/ });
});

t.test('trust: explicit keys, a key directory (hex or raw ledger.pub), and refusals', async (t) => {
  const key = makeLedgerKey();
  const fromVkey = loadTrust({ ledgerVerifierKey: key.vkey });
  t.same(fromVkey.certificateKey, key.keys.publicKey, 'certificates are checked with the verifier key\'s public key');
  t.equal(fromVkey.verifier?.name, key.origin);
  t.equal(loadTrust({ ledgerPublicKey: key.publicKeyHex }).verifier, null);

  const dir = mkdtempSync(join(tmpdir(), 'collector-trust-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ledger.pub'), Buffer.from(key.keys.publicKey));
  writeFileSync(join(dir, 'ledger.vkey'), `${key.vkey}\n`);
  const fromDir = loadTrust({ ledgerKeyDir: dir });
  t.same(fromDir.certificateKey, key.keys.publicKey);
  t.equal(fromDir.verifier?.name, key.origin);

  writeFileSync(join(dir, 'ledger.pub'), 'zz');
  t.throws(() => loadTrust({ ledgerKeyDir: dir }), { code: 'TRUST_INVALID', message: /ledger\.pub/ });
  t.throws(() => loadTrust({ ledgerPublicKey: '00'.repeat(32) }), { code: 'TRUST_INVALID' }, 'a small-order key is refused');
});

t.test('answers go to the meter\'s response topic, or to an MQTT 5 Response Topic inside its own topics only', async (t) => {
  t.same(replyTarget('M-1', undefined), { topic: 'meterseal/v1/meter/M-1/response', correlationData: null });
  const cd = Buffer.from([1, 2]);
  t.same(replyTarget('M-1', { responseTopic: 'meterseal/v1/meter/M-1/c9/response', correlationData: cd }), {
    topic: 'meterseal/v1/meter/M-1/c9/response', correlationData: new Uint8Array([1, 2]),
  });
  for (const elsewhere of ['meterseal/v1/meter/M-2/response', 'meterseal/v1/collector/reading/M-1', 'meterseal/v1/meter/M-1/+', 'meterseal/v1/meter/M-1/']) {
    t.same(replyTarget('M-1', { responseTopic: elsewhere, correlationData: cd }), { topic: 'meterseal/v1/meter/M-1/response', correlationData: null }, elsewhere);
  }
});
