// The meter identity pin (issue 4 item 6): first-read pinning, config provisioning, exchange detection that
// stays until an operator clears it, and a pin file that survives restarts and fails closed when damaged.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { MeterIdentityPin, PIN_FILE } from './meter-identity.js';

function dir(t: { teardown(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'meter-pin-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A pino logger whose JSON lines we can read back. */
function capture(): { log: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void out.push(s) });
  return { log, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

t.test('no config identity: the first identity read is pinned, written to the data dir and logged', async (t) => {
  const d = dir(t);
  const { log, lines } = capture();
  const pin = new MeterIdentityPin(d, undefined, log);
  t.equal(pin.expected, null);
  t.same(pin.check(null, 0), { ok: true }, 'a meter without identity pins nothing');
  t.equal(pin.expected, null);
  t.same(pin.check('000012345678', 0), { ok: true });
  t.equal(pin.expected, '000012345678');
  t.match(JSON.parse(readFileSync(join(d, PIN_FILE), 'utf8')), { identity: '000012345678', source: 'first-read', configured: null });
  t.ok(lines().some((l) => l.msg === 'meter identity pinned from the first read' && l.meterIdentity === '000012345678'));
  t.same(pin.check('000012345678', 1), { ok: true }, 'the same meter again');
  t.equal(new MeterIdentityPin(d, undefined, log).expected, '000012345678', 'a restart keeps the pin');
});

t.test('a different identity is a meter exchange: refused, logged with both, sticky until an operator clears', async (t) => {
  const d = dir(t);
  const { log, lines } = capture();
  const pin = new MeterIdentityPin(d, undefined, log);
  pin.check('A-1', 0);
  const v = pin.check('B-2', Date.UTC(2026, 10, 21, 12));
  t.same(v, { ok: false, exchange: { expected: 'A-1', found: 'B-2', at: '2026-11-21T12:00:00.000Z' } });
  const err = lines().find((l) => l.event === 'meter-exchange');
  t.match(err, { level: 50, expected: 'A-1', found: 'B-2' }, 'an error log line names both identities');
  t.same(pin.check('A-1', 1), v, 'even the original meter back on the line does not resume signing by itself');
  t.same(pin.check(null, 2), v);
  const { cleared } = pin.clear('replaced meter, work order 17');
  t.equal(cleared?.identity, 'A-1');
  t.equal(pin.exchange, null);
  t.notOk(existsSync(join(d, PIN_FILE)));
  t.same(pin.check('B-2', 3), { ok: true }, 'after the operator clears the pin, the next identity is pinned');
  t.match(pin.pin, { identity: 'B-2', source: 'operator' });
  t.ok(lines().some((l) => l.msg === 'meter identity pin cleared by an operator' && l.note === 'replaced meter, work order 17'));
});

t.test('config meter.identity provisions the pin; a changed config replaces it; an operator re-pin outlives restarts', async (t) => {
  const d = dir(t);
  const { log } = capture();
  const a = new MeterIdentityPin(d, 'SN-1', log);
  t.equal(a.expected, 'SN-1', 'provisioned before anything is read');
  t.equal(a.check('SN-2', 0).ok, false, 'so even the first read can be an exchange');
  a.clear();
  a.check('SN-2', 1);
  t.match(new MeterIdentityPin(d, 'SN-1', log).pin, { identity: 'SN-2', source: 'operator', configured: 'SN-1' }, 'the operator re-pin wins over the same config');
  t.match(new MeterIdentityPin(d, 'SN-3', log).pin, { identity: 'SN-3', source: 'config' }, 'a new config value is a new provisioning');
  t.equal(new MeterIdentityPin(d, undefined, log).expected, 'SN-3', 'config removed: the last pin stays');
});

t.test('a damaged pin file fails closed with a typed error; an invalid config identity is refused', async (t) => {
  const d = dir(t);
  const { log } = capture();
  for (const bad of ['not json', '{"identity":"","pinnedAt":"x","source":"config","configured":null}', '{"identity":"a","source":"guess","configured":null}']) {
    writeFileSync(join(d, PIN_FILE), bad);
    t.throws(() => new MeterIdentityPin(d, undefined, log), { code: 'METER_PIN_UNREADABLE' }, bad);
  }
  rmSync(join(d, PIN_FILE));
  t.throws(() => new MeterIdentityPin(d, 'bad\nid', log), { code: 'BAD_METER_IDENTITY' });
});
