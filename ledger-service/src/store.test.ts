import t from 'tap';
import { join } from 'node:path';
import { utf8 } from '@meterseal/protocol';
import { openSqliteStore, type SqliteStore } from './sqlite-store.js';
import { appendEntry, storeConformance } from './testing/store-conformance.js';
import { tempDir } from './testing/harness.js';

const dir = tempDir(t);
let n = 0;

t.test('SQLite store conformance', async (t) => {
  storeConformance(
    t,
    () => openSqliteStore(join(dir, `conf-${n++}.sqlite`)),
    (s) => {
      const path = (s as SqliteStore).path;
      s.close();
      return openSqliteStore(path);
    },
  );
});

t.test('SQLite: WAL with synchronous=FULL, and a read-only view beside the writer', async (t) => {
  const path = join(dir, 'ro.sqlite');
  const w = openSqliteStore(path);
  t.teardown(() => w.close());
  appendEntry(w, utf8.encode('x'), { kind: 'auth', meterId: 'M', passed: false, atMs: 1 });
  const r = openSqliteStore(path, { readonly: true });
  t.teardown(() => r.close());
  t.equal(r.treeSize(), 1n);
  t.same(r.getEntry(0n), utf8.encode('x'));
  t.throws(() => r.setMeta('k', 'v'));
});
