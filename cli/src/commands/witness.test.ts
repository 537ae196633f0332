import t from 'tap';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { witnessedLog } from './witness.js';

const VKEY = 'ledger.example/log+01234567+AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=';

t.test('--ledger-key-dir: the origin is the vkey name; rotation follows the data directory unless --rotates says', async (t) => {
  const plain = t.testdir({});
  t.same(witnessedLog(VKEY, plain), { origin: 'ledger.example/log', verifierKey: VKEY, rotates: false }, 'no periods/: exact origin');
  t.equal(witnessedLog(VKEY, plain, true).rotates, true, '--rotates forces it on');
  const rotating = t.testdir({});
  mkdirSync(join(rotating, 'periods'));
  t.equal(witnessedLog(VKEY, rotating).rotates, true, 'periods/ beside ledger.vkey: the ledger rotates');
  t.equal(witnessedLog(VKEY, rotating, false).rotates, false, 'an explicit false wins');
});

t.test('a vkey without an origin is refused, naming the file', async (t) => {
  t.throws(() => witnessedLog('AQIDBA==', '/x'), { code: 'BAD_LEDGER_VKEY', message: /\/x\/ledger\.vkey is not a note verifier key/ });
});
