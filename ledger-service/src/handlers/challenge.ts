// meterseal/v1/ledger/challenge (docs/protocol.md §6): JSON {"meterId"}; a registered meter gets a fresh
// random 32-byte nonce and its expiry.
import { ChallengeRequest, assertMeterId, toHex, utf8 } from '@meterseal/protocol';
import { Rejection, describe } from '../errors.js';
import { requireMeter, type Handler } from './context.js';

function parseChallenge(payload: Uint8Array): string {
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(payload));
  } catch (cause) {
    throw new Rejection('MALFORMED', `challenge request is not UTF-8 JSON: ${describe(cause)}`, { cause });
  }
  const r = ChallengeRequest.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Rejection('MALFORMED', `challenge request: ${i.path.join('.') || '(top level)'}: ${i.message}`);
  }
  try {
    assertMeterId(r.data.meterId);
  } catch (cause) {
    throw new Rejection('MALFORMED', `challenge request: meterId: ${describe(cause)}`, { cause });
  }
  return r.data.meterId;
}

export const handleChallenge: Handler = (ctx, payload, deps) => {
  const meterId = parseChallenge(payload);
  ctx.meterId = meterId;
  requireMeter(deps, meterId);
  const c = deps.challenges.issue(meterId, ctx.nowMs);
  return { nonce: toHex(c.nonce), expiresAt: new Date(c.expiresAtMs).toISOString() };
};
