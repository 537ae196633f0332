// The console's command table. Privileged commands run only inside `sign <sig-hex> <command ...>`.
import { keyId, sha256, toHex, type TechnicianCredential } from '@meterseal/protocol';
import { CLOCK_FLOOR_MS, ConsoleError, type ScopeTarget } from './guard.js';
import type { ConsoleSession } from './session.js';
import { parseCorrectionArgs } from '../correction.js';
import type { ConsoleSettings } from './settings.js';

export interface CommandContext {
  session: ConsoleSession;
  technician?: TechnicianCredential;
}

export interface CommandSpec {
  usage: string;
  summary: string;
  minArgs: number;
  maxArgs: number;
  privileged: boolean;
  /** Whose scope a signed command needs: the meter as it is and, for set-meter-id, as it will be. */
  targets(args: string[], s: ConsoleSettings): ScopeTarget[];
  run(args: string[], ctx: CommandContext): Promise<Record<string, unknown>>;
}

export function fingerprintOf(publicKey: Uint8Array): { fingerprint: string; keyId: string; publicKey: string } {
  const h = toHex(sha256(publicKey));
  let grouped = '';
  for (let i = 0; i < h.length; i += 4) grouped += (i ? ':' : '') + h.slice(i, i + 4);
  return { fingerprint: grouped, keyId: toHex(keyId(publicKey)), publicKey: toHex(publicKey) };
}

const current = (_: string[], s: ConsoleSettings): ScopeTarget[] => [{ meterId: s.meterId, siteId: s.siteId }];
const none = (): ScopeTarget[] => [];

/** JSON-safe copy: bigints as decimal strings, bytes as hex. */
export function jsonSafe(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonSafe(x)]));
  return v;
}

async function callAgent<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    throw new ConsoleError(typeof code === 'string' ? code : 'FAILED', `${what} failed: ${(cause as Error).message ?? String(cause)}`, undefined, { cause });
  }
}

function checkEndpoint(url: string, which: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConsoleError('BAD_SETTING', `${which} is not a URL`);
  }
  if (!['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(u.protocol)) throw new ConsoleError('BAD_SETTING', `${which} must be mqtt://, mqtts://, ws:// or wss://`);
}

const spec = (s: Partial<CommandSpec> & Pick<CommandSpec, 'usage' | 'summary' | 'run'>): CommandSpec =>
  ({ minArgs: 0, maxArgs: 0, privileged: false, targets: none, ...s });

export const COMMANDS: Map<string, CommandSpec> = new Map<string, CommandSpec>([
  ['help', spec({ usage: 'help', summary: 'this list', run: async (): Promise<Record<string, unknown>> => ({
    commands: [...COMMANDS.values()].map((c) => `${c.usage}${c.privileged ? '  (signed)' : ''} — ${c.summary}`),
  }) })],
  ['status', spec({ usage: 'status', summary: 'provisioned settings and who is authenticated', run: async (_, { session }) => {
    const s = session.agent.settings.get();
    const tech = session.guard.technician;
    return {
      meterId: s.meterId ?? null, customerAccount: s.customerAccount ?? null, ledgerUrl: s.ledgerUrl ?? null,
      collectorUrl: s.collectorUrl ?? null, siteId: s.siteId ?? null, updatedAt: s.updatedAt ?? null,
      keyId: fingerprintOf(session.agent.identityPublicKey()).keyId,
      technician: tech ? { id: tech.technicianId, notAfter: new Date(Number(tech.notAfterMs)).toISOString() } : null,
      lockedForMs: session.guard.lockedForMs(),
      ...(session.agent.state ? { agent: jsonSafe(session.agent.state()) } : {}),
    };
  } })],
  ['fingerprint', spec({ usage: 'fingerprint', summary: 'SHA-256 of the identity public key', run: async (_, { session }) =>
    fingerprintOf(session.agent.identityPublicKey()) })],
  ['read', spec({ usage: 'read', summary: 'take one reading', run: async (_, { session }) =>
    ({ reading: jsonSafe(await callAgent('read', () => session.agent.readOnce())) }) })],
  ['log', spec({ usage: 'log [n]', summary: 'the last n audit entries (default 20, max 200)', maxArgs: 1, run: async (args, { session }) => {
    const n = args[0] === undefined ? 20 : Number(args[0]);
    if (!Number.isInteger(n) || n < 1 || n > 200) throw new ConsoleError('USAGE', 'usage: log [n], n in 1..200');
    return { entries: session.audit.tail(n) };
  } })],
  ['auth', spec({ usage: 'auth <credential-hex>', summary: 'present a technician credential', minArgs: 1, maxArgs: 1, run: async (args, { session }) => {
    const s = session.agent.settings.get();
    const c = session.guard.authenticate(args[0]!, { meterId: s.meterId, siteId: s.siteId });
    return { technician: c.technicianId, notAfter: new Date(Number(c.notAfterMs)).toISOString(), clockSynced: session.now() >= CLOCK_FLOOR_MS };
  } })],
  ['challenge', spec({ usage: 'challenge', summary: 'a nonce to sign for the next command', run: async (_, { session }) => session.guard.challenge() })],
  ['sign', spec({ usage: 'sign <sig-hex> <command> [args...]', summary: 'run a state-changing command signed over (nonce, command line)', minArgs: 2, maxArgs: 64,
    run: async () => { throw new ConsoleError('USAGE', 'usage: sign <sig-hex> <command> [args...]'); } })],
  ['set-meter-id', spec({ usage: 'set-meter-id <id>', summary: 'the meter id on the ledger whitelist', minArgs: 1, maxArgs: 1, privileged: true,
    targets: (args, s) => [...(s.meterId ? current(args, s) : []), { meterId: args[0], siteId: s.siteId }],
    run: async (args, { session }) => ({ settings: session.agent.settings.update({ meterId: args[0] }) }) })],
  ['set-account', spec({ usage: 'set-account <acct>', summary: 'the customer account', minArgs: 1, maxArgs: 1, privileged: true, targets: current,
    run: async (args, { session }) => ({ settings: session.agent.settings.update({ customerAccount: args[0] }) }) })],
  ['set-endpoints', spec({ usage: 'set-endpoints <ledgerUrl> <collectorUrl>', summary: 'the two MQTT interfaces', minArgs: 2, maxArgs: 2, privileged: true, targets: current,
    run: async (args, { session }) => {
      checkEndpoint(args[0]!, 'ledgerUrl');
      checkEndpoint(args[1]!, 'collectorUrl');
      return { settings: session.agent.settings.update({ ledgerUrl: args[0], collectorUrl: args[1] }) };
    } })],
  ['register', spec({ usage: 'register', summary: 'register with the ledger', privileged: true, targets: current, run: async (_, { session }) => {
    const s = session.agent.settings.get();
    if (!s.meterId || !s.customerAccount) throw new ConsoleError('NOT_PROVISIONED', 'set-meter-id and set-account first');
    return { result: jsonSafe(await callAgent('registration', () => session.agent.register())) ?? null };
  } })],
  ['rotate-key', spec({ usage: 'rotate-key', summary: 'make a new identity key (the ledger refuses it until an operator approves the exchange)', privileged: true, targets: current, run: async (_, { session }) => {
    const pub = await callAgent('key rotation', () => session.agent.rotateKey());
    return fingerprintOf(pub);
  } })],
  ['correct', spec({ usage: 'correct <seq> <obis>=<value>,<scaler>,<unit> [...] -- <reason>', summary: 'sign a correction of reading <seq> at a new seq; the original stays (protocol §14)',
    minArgs: 4, maxArgs: 64, privileged: true, targets: current, run: async (args, { session }) => {
      const agent = session.agent;
      if (!agent.correct) throw new ConsoleError('UNSUPPORTED', 'this agent cannot sign corrections');
      const req = await callAgent('correction', async () => parseCorrectionArgs(args));
      const seq = await callAgent('correction', () => agent.correct!(req));
      return { seq: seq.toString(), originalSeq: req.originalSeq.toString() };
    } })],
  ['factory-reset', spec({ usage: 'factory-reset', summary: 'forget all settings (needs confirm within 30 s)', privileged: true, targets: current, run: async (_, { session }) => {
    const ttl = session.opts.confirmTtlMs ?? 30_000;
    const token = toHex(session.random(4));
    session.pendingReset = { token, expiresAt: session.now() + ttl };
    return { confirm: `confirm ${token}`, token, expiresInMs: ttl, message: `send \`confirm ${token}\` (signed) within ${ttl / 1000} s` };
  } })],
  ['confirm', spec({ usage: 'confirm <token>', summary: 'confirm a factory reset', minArgs: 1, maxArgs: 1, privileged: true, targets: current, run: async (args, { session }) => {
    const pending = session.pendingReset;
    session.pendingReset = undefined;
    if (!pending) throw new ConsoleError('NOTHING_TO_CONFIRM', 'no factory reset is pending');
    if (session.now() > pending.expiresAt) throw new ConsoleError('CONFIRM_EXPIRED', 'the factory reset was not confirmed in time; start again');
    if (args[0] !== pending.token) throw new ConsoleError('BAD_TOKEN', 'wrong confirmation token; start again');
    session.agent.settings.reset();
    if (session.agent.factoryReset) await callAgent('factory reset', () => session.agent.factoryReset!());
    session.guard.logout();
    return { reset: true };
  } })],
]);
