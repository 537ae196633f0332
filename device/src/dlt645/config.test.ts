// serial.protocol selects the reader: the config half (device/src/config.ts).
import t from 'tap';
import { AgentConfig } from '../config.js';

const base = { dataDir: '/tmp/x', meterId: 'M-1', customerAccount: 'A-1' };

t.test('Modbus stays the default, with its defaults unchanged', async (t) => {
  t.same(AgentConfig.parse(base).serial, { protocol: 'modbus', baudRate: 9600, unitId: 1, profile: 'chint-ddsu666', timeoutMs: 1000 });
  t.same(AgentConfig.parse({ ...base, serial: { path: '/dev/ttyUSB0' } }).serial, {
    path: '/dev/ttyUSB0', protocol: 'modbus', baudRate: 9600, unitId: 1, profile: 'chint-ddsu666', timeoutMs: 1000,
  });
});

t.test('dlt645 takes a 12-digit address and DL/T 645 defaults', async (t) => {
  const c = AgentConfig.parse({ ...base, serial: { protocol: 'dlt645', path: '/dev/ttyUSB0', address: '000012345678' } });
  t.same(c.serial, { path: '/dev/ttyUSB0', protocol: 'dlt645', address: '000012345678', baudRate: 2400, unitId: 1, profile: 'dlt645-single-phase', timeoutMs: 1000 });
  t.same(AgentConfig.parse(c), c, 'parsing a parsed config changes nothing (the CLI parses, then startAgent again)');
  t.equal(AgentConfig.parse({ ...base, serial: { protocol: 'dlt645', address: '000012345678', baudRate: 9600 } }).serial.baudRate, 9600);
});

t.test('dlt645 without an address, or with a bad one, is refused naming serial.address', async (t) => {
  const issues = (serial: unknown): string[] => {
    const r = AgentConfig.safeParse({ ...base, serial });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  t.match(issues({ protocol: 'dlt645' }), [/^serial\.address: required when serial\.protocol is "dlt645"/]);
  t.match(issues({ protocol: 'dlt645', address: '12345678901' }), [/^serial\.address: DL\/T 645 meter address must be 12 decimal digits/]);
  t.match(issues({ protocol: 'dlt645', address: 'AAAAAAAAAAAA' }), [/^serial\.address/]);
  t.match(issues({ protocol: 'iec62056' }), [/^serial\.protocol/]);
});
