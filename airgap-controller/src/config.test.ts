import t from 'tap';
import { AirgapConfigSchema, parseAirgapConfig } from './config.js';
import { AirgapError } from './errors.js';
import { isLoopbackAddress } from './loopback.js';

const minimal = { target: { host: '10.20.0.5', port: 8080 }, auditLog: '/var/lib/meterseal/airgap.jsonl' };

t.test('fills in the defaults', async (t) => {
  t.same(parseAirgapConfig(minimal), {
    driver: 'relay',
    control: { host: '127.0.0.1', port: 0 },
    relay: { host: '127.0.0.1', port: 0 },
    httpAllowlist: ['/checkpoint', '/tile/', '/v1/proof/', '/v1/anchors', '/v1/meters', '/v1/index', '/v1/index/', '/v1/meter/',
      '/periods', '/period/_/checkpoint', '/period/_/link', '/period/_/tile/', '/period/_/v1/index', '/period/_/v1/index/', '/period/_/v1/meter/', '/period/_/v1/proof/'],
    target: { host: '10.20.0.5', port: 8080 },
    maxWindowMs: 120_000,
    auditLog: '/var/lib/meterseal/airgap.jsonl',
  });
  t.same(parseAirgapConfig({ ...minimal, control: { port: 7000 } }).control, { host: '127.0.0.1', port: 7000 });
});

t.test('refuses configs that would widen the gap or lack essentials, naming the field', async (t) => {
  const bad: [unknown, RegExp][] = [
    [{ auditLog: 'a.jsonl' }, /target/],
    [{ target: minimal.target }, /auditLog/],
    [{ ...minimal, control: { host: '0.0.0.0' } }, /control\.host: must be a loopback IP address/],
    [{ ...minimal, relay: { host: '192.168.1.10' } }, /relay\.host: must be a loopback IP address/],
    [{ ...minimal, relay: { host: 'localhost' } }, /relay\.host/],
    [{ ...minimal, driver: 'fiber' }, /driver/],
    [{ ...minimal, driver: 'gpio' }, /gpio/],
    [{ ...minimal, driver: 'netns' }, /netns/],
    [{ ...minimal, maxWindowMs: 0 }, /maxWindowMs/],
    [{ ...minimal, maxWindowMs: 2 ** 31 }, /maxWindowMs/],
    [{ ...minimal, target: { host: 'ledger', port: 0 } }, /target\.port/],
    [{ ...minimal, extra: true }, /extra/],
  ];
  for (const [input, message] of bad) {
    t.throws(() => parseAirgapConfig(input), AirgapError);
    try {
      parseAirgapConfig(input);
    } catch (err) {
      t.equal((err as AirgapError).code, 'CONFIG_INVALID');
      t.match((err as AirgapError).message, message);
    }
  }
  t.equal(AirgapConfigSchema.safeParse({ ...minimal, control: { host: '::1', port: 1 } }).success, true);
});

t.test('loopback means 127.0.0.0/8 and ::1 literals only', async (t) => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) t.ok(isLoopbackAddress(a), a);
  for (const a of ['0.0.0.0', '10.0.0.1', '128.0.0.1', '::', '::ffff:10.0.0.1', 'localhost', '127.0.0.1.evil', '', undefined]) {
    t.notOk(isLoopbackAddress(a), String(a));
  }
});
