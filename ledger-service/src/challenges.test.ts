import t from 'tap';
import { Challenges, MAX_CHALLENGES_PER_METER } from './challenges.js';

t.test('single use, per meter, expiring', async (t) => {
  const c = new Challenges(1000);
  const a = c.issue('M-1', 0);
  t.equal(a.nonce.length, 32);
  t.equal(a.expiresAtMs, 1000);
  t.equal(c.consume('M-2', a.nonce, 10), 'unknown-nonce', 'issued to another meter');
  t.equal(c.consume('M-1', a.nonce, 10), 'ok');
  t.equal(c.consume('M-1', a.nonce, 10), 'unknown-nonce', 'used up');
  const b = c.issue('M-1', 0);
  t.equal(c.consume('M-1', b.nonce, 1001), 'expired-challenge');
  t.equal(c.consume('M-1', b.nonce, 1001), 'unknown-nonce');
});

t.test('bounded per meter; long-expired ones are forgotten', async (t) => {
  const c = new Challenges(1000);
  const first = c.issue('M-1', 0);
  for (let i = 0; i < MAX_CHALLENGES_PER_METER; i++) c.issue('M-1', 0);
  t.equal(c.size, MAX_CHALLENGES_PER_METER);
  t.equal(c.consume('M-1', first.nonce, 1), 'unknown-nonce', 'the oldest was dropped');
  c.issue('M-2', 5000);
  t.equal(c.size, 1, 'challenges expired for over a TTL were purged');
});
