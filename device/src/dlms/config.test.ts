// serial.protocol "dlms" in the agent config (device/src/config.ts): defaults and the auth requirements.
import t from 'tap';
import { AgentConfig } from '../config.js';

const base = { dataDir: '/tmp/x', meterId: 'M-1', customerAccount: 'A-1' };
const issues = (serial: unknown): string[] => {
  const r = AgentConfig.safeParse({ ...base, serial });
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

t.test('dlms defaults: 9600 bd, the DLMS profile, public client, no auth', async (t) => {
  const c = AgentConfig.parse({ ...base, serial: { protocol: 'dlms', path: '/dev/ttyUSB0', dlms: {} } });
  t.equal(c.serial.baudRate, 9600);
  t.equal(c.serial.profile, 'dlms-single-phase');
  t.same(c.serial.dlms, { clientAddress: 16, serverLogical: 1, auth: 'none', invocationCounterStart: 0, keepAssociation: false });
  t.same(AgentConfig.parse(c), c, 'parsing a parsed config changes nothing');
  t.equal(AgentConfig.parse({ ...base, serial: { protocol: 'dlms' } }).serial.dlms, undefined, 'dlms options may be left out (the factory uses the defaults)');
});

t.test('dlms auth: LLS needs a password, HLS keys and a system title of the right size', async (t) => {
  t.match(issues({ protocol: 'dlms', dlms: { auth: 'lls' } }), [/^serial\.dlms\.password: required when auth is "lls"/]);
  t.same(issues({ protocol: 'dlms', dlms: { auth: 'lls', password: 'secret' } }), []);
  t.equal(issues({ protocol: 'dlms', dlms: { auth: 'hls' } }).length, 3);
  const hls = { auth: 'hls', authenticationKey: 'D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF', encryptionKey: '000102030405060708090A0B0C0D0E0F', systemTitle: '4D45540000000001' };
  t.same(issues({ protocol: 'dlms', dlms: hls }), []);
  t.match(issues({ protocol: 'dlms', dlms: { ...hls, encryptionKey: '0001' } }), [/^serial\.dlms\.encryptionKey: must be 16 bytes of hex/]);
  t.match(issues({ protocol: 'dlms', dlms: { ...hls, systemTitle: 'zz45540000000001' } }), [/^serial\.dlms\.systemTitle/]);
  t.match(issues({ protocol: 'dlms', dlms: { clientAddress: 127 } }), [/^serial\.dlms\.clientAddress/]);
  t.match(issues({ protocol: 'dlms', dlms: { bogus: 1 } }), [/^serial\.dlms/]);
});
