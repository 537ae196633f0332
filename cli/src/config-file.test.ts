import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { loadConfig, mergeConfig } from './config-file.js';

const Schema = z.object({ dataDir: z.string(), mqtt: z.object({ port: z.number().int().max(65535).default(1883), host: z.string().default('127.0.0.1') }).strict().default({ port: 1883, host: '127.0.0.1' }) }).strict();
const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

t.test('flags override the file, the file overrides defaults', async (t) => {
  const c = loadConfig(Schema, file('ok.json', '{"dataDir":"/a","mqtt":{"port":2000,"host":"::1"}}'), { mqtt: { port: 3000 } });
  t.same(c, { dataDir: '/a', mqtt: { port: 3000, host: '::1' } });
  t.same(mergeConfig({ a: { b: 1 } }, { a: { c: undefined } }), { a: { b: 1 } }, 'an absent flag does not erase the file value');
});

t.test('a command default yields to the config file, and a flag beats both', async (t) => {
  const withFile = file('dir.json', '{"dataDir":"/from-file"}');
  t.equal(loadConfig(Schema, withFile, { dataDir: undefined }, { dataDir: './data/x' }).dataDir, '/from-file', 'no --data-dir: the file wins over the default');
  t.equal(loadConfig(Schema, withFile, { dataDir: '/flag' }, { dataDir: './data/x' }).dataDir, '/flag', '--data-dir wins');
  t.equal(loadConfig(Schema, undefined, { dataDir: undefined }, { dataDir: './data/x' }).dataDir, './data/x', 'neither: the default');
});

t.test('hostile or wrong config files get errors naming the file and the field', async (t) => {
  t.throws(() => loadConfig(Schema, join(dir, 'missing.json'), {}), { code: 'CONFIG_UNREADABLE', message: /missing\.json/ });
  t.throws(() => loadConfig(Schema, file('bad.json', '{"dataDir":'), {}), { code: 'CONFIG_NOT_JSON', message: /bad\.json/ });
  t.throws(() => loadConfig(Schema, file('arr.json', '[1]'), {}), { code: 'CONFIG_NOT_OBJECT' });
  t.throws(() => loadConfig(Schema, file('port.json', '{"dataDir":"/a","mqtt":{"port":70000}}'), {}), { code: 'CONFIG_INVALID', message: /mqtt\.port/ });
  t.throws(() => loadConfig(Schema, file('extra.json', '{"dataDir":"/a","mqt":{}}'), {}), { code: 'CONFIG_INVALID', message: /mqt/ }, 'a misspelt key is refused, not ignored');
  t.throws(() => loadConfig(Schema, file('big.json', `{"dataDir":"${'x'.repeat(1 << 20)}"}`), {}), { code: 'CONFIG_TOO_LARGE' });
  t.throws(() => loadConfig(Schema, undefined, {}), { code: 'CONFIG_INVALID', message: /dataDir/ });
});
