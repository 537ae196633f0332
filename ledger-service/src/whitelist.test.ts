import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Whitelist, parseWhitelist } from './whitelist.js';
import { tempDir } from './testing/harness.js';

t.test('parses and looks up', async (t) => {
  const m = parseWhitelist(JSON.stringify({ meters: [{ meterId: 'M-1', customerAccount: 'A1' }, { meterId: 'M.2', customerAccount: 'Ä2' }] }), 'w.json');
  t.equal(m.get('M-1'), 'A1');
  t.equal(m.get('M.2'), 'Ä2');
});

t.test('errors name the file, the entry index and the field', async (t) => {
  const bad = (v: unknown) => () => parseWhitelist(typeof v === 'string' ? v : JSON.stringify(v), '/etc/w.json');
  t.throws(bad('{'), { code: 'WHITELIST_INVALID', message: /^whitelist \/etc\/w\.json: not valid JSON/ });
  t.throws(bad({}), /w\.json: meters: /);
  t.throws(bad({ meters: [{ meterId: 'A', customerAccount: 'x' }, { meterId: 'B' }] }), /w\.json: meters\[1\]\.customerAccount: /);
  t.throws(bad({ meters: [{ meterId: 'A', customerAccount: 'x' }, { meterId: 'has/slash', customerAccount: 'y' }] }), /meters\[1\]\.meterId: meter id "has\/slash"/);
  t.throws(bad({ meters: [{ meterId: 'A', customerAccount: 'x' }, { meterId: 'A', customerAccount: 'y' }] }), /meters\[1\]\.meterId: "A" appears twice/);
  t.throws(bad({ meters: [{ meterId: 'A', customerAccount: 'x'.repeat(256) }] }), /meters\[0\]\.customerAccount: must be at most 255/);
  t.throws(bad({ meters: [{ meterId: 'A', customerAccount: 'x', extra: 1 }] }), /meters\[0\]/);
});

t.test('missing file is empty; changes are picked up; a broken edit keeps the old list', async (t) => {
  const file = join(tempDir(t), 'whitelist.json');
  const w = Whitelist.load(file);
  t.equal(w.missing, true);
  t.equal(w.accountOf('M-1'), undefined);
  writeFileSync(file, JSON.stringify({ meters: [{ meterId: 'M-1', customerAccount: 'A1' }] }));
  t.equal(w.reloadIfChanged(), true);
  t.equal(w.accountOf('M-1'), 'A1');
  t.equal(w.reloadIfChanged(), false);
  writeFileSync(file, '{"meters": [');
  t.throws(() => w.reloadIfChanged(), { code: 'WHITELIST_INVALID' });
  t.equal(w.reloadIfChanged(), false, 'the same broken file is reported once');
  t.equal(w.accountOf('M-1'), 'A1', 'the previous list stays in force');
  writeFileSync(file, JSON.stringify({ meters: [{ meterId: 'M-22', customerAccount: 'A22' }] }));
  t.equal(w.reloadIfChanged(), true);
  t.equal(w.accountOf('M-1'), undefined);
  t.equal(w.accountOf('M-22'), 'A22');
});
