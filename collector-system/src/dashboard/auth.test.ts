// The dashboard's authentication primitives: scrypt hashes, signed session cookies, CSRF tokens, the login
// limiter and the cookie parser — including hostile and malformed input.
import fc from 'fast-check';
import t from 'tap';
import { LoginLimiter, SessionSigner, hashPassword, parseCookies, parsePasswordHash, verifyPassword } from './auth.js';
import { esc, html } from './html.js';

t.test('scrypt hashes verify only the right password; malformed or extreme hashes are refused', async (t) => {
  const h = hashPassword('s3cret-passphrase');
  t.match(h, /^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  t.ok(verifyPassword('s3cret-passphrase', h));
  t.notOk(verifyPassword('s3cret-passphrasE', h));
  t.not(hashPassword('x'), hashPassword('x'), 'salted');
  for (const bad of ['', 'scrypt$1$8$1$AAAAAAAAAAAAAAAAAAAAAA$' + 'A'.repeat(43), h.replace('$32768$', '$33000$'), h.replace('$32768$', '$2097152$'), 'bcrypt$x', h + '$']) {
    t.throws(() => parsePasswordHash(bad), { code: 'CONFIG_INVALID' }, `refused: ${bad.slice(0, 20)}`);
  }
});

t.test('session cookies: signed, expiring, bound to one secret; CSRF tokens bound to one session', async (t) => {
  const signer = new SessionSigner(new Uint8Array(32).fill(7));
  const other = new SessionSigner(new Uint8Array(32).fill(8));
  const { cookie, session } = signer.issue('alice', 60_000, 1_000_000);
  t.same(signer.check(cookie, 1_000_001), session);
  t.equal(signer.check(cookie, 1_060_000), null, 'expired at expiresAtMs');
  t.equal(other.check(cookie, 1_000_001), null, 'another secret');
  t.equal(signer.check(undefined, 0), null);
  t.equal(signer.check('a.b.c', 0), null);
  t.equal(signer.check('x'.repeat(300), 0), null);
  const token = signer.csrfToken(session);
  t.ok(signer.checkCsrf(session, token));
  t.notOk(signer.checkCsrf(signer.issue('alice', 60_000, 1_000_000).session, token), 'a token of another session');
  t.notOk(signer.checkCsrf(session, undefined));
  t.notOk(signer.checkCsrf(session, token + 'x'));
  t.throws(() => new SessionSigner(new Uint8Array(16)), { code: 'CONFIG_INVALID' });
  t.throws(() => signer.issue('bad name', 1, 0), { code: 'CONFIG_INVALID' });
  fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => signer.check(s, 0) === null), { numRuns: 2000 });
});

t.test('the login limiter counts failures per key in a sliding window and stays bounded', async (t) => {
  const l = new LoginLimiter(3, 1000, 5);
  for (let i = 0; i < 3; i++) l.fail(['addr:a'], 100 * i);
  t.notOk(l.allowed(['addr:a'], 300));
  t.ok(l.allowed(['addr:b'], 300));
  t.ok(l.allowed(['addr:a'], 1100), 'the oldest failure aged out');
  l.succeed(['addr:a']);
  t.ok(l.allowed(['addr:a'], 300));
  for (let i = 0; i < 50; i++) l.fail([`addr:${i}`], 0);
  t.ok(l.allowed(['addr:0'], 1), 'old keys evicted beyond maxKeys');
});

t.test('cookie parsing and escaping are hostile-input safe', async (t) => {
  t.same([...parseCookies('a=1; b = 2; a=3; junk; =x')], [['a', '1'], ['b', '2']]);
  t.equal(parseCookies('a=1'.padEnd(5000, ';')).size, 0, 'oversized headers are ignored');
  t.equal(esc(`<a href="x" onclick='y'>&`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;');
  t.equal(html`<td>${'<b>'}</td>${[html`<i>${'&'}</i>`]}`.value, '<td>&lt;b&gt;</td><i>&amp;</i>');
});
