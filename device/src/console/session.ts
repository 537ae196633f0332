// One console session: turns each framed line into exactly one JSON answer, audits it, and keeps the
// technician's authentication, the pending factory reset and the lockout state.
import { randomBytes } from 'node:crypto';
import { AuditLog } from './audit.js';
import { COMMANDS, type CommandContext } from './commands.js';
import { ConsoleError, TechnicianGuard } from './guard.js';
import { decodeLine, excerpt, tokenize, MAX_LINE_BYTES, type FramedLine } from './line.js';
import type { CorrectionRequest } from '../correction.js';
import type { SettingsStore } from './settings.js';

/** What the console needs from the agent (wired by the agent; fakes in tests). */
export interface ConsoleAgent {
  /** The current identity public key (changes after rotate-key). */
  identityPublicKey(): Uint8Array;
  settings: SettingsStore;
  /** Takes one reading; the result is shown as JSON (bigints become strings). */
  readOnce(): Promise<unknown>;
  /** Registers with the ledger using the provisioned settings. */
  register(): Promise<unknown>;
  /** Makes a new identity key; resolves with its public key. */
  rotateKey(): Promise<Uint8Array>;
  /** What `status` shows of the agent itself (running, enrolled, last enrolment error). */
  state?(): Record<string, unknown>;
  /** Extra work on factory reset beyond clearing settings (e.g. forget keys, outbox). */
  factoryReset?(): Promise<void>;
  /** Signs and queues a correction of an earlier reading (docs/protocol.md §14); resolves with its seq. */
  correct?(req: CorrectionRequest): Promise<bigint>;
}

export interface ConsoleOptions {
  trustedIssuers: Uint8Array[];
  auditLogPath: string;
  now?: () => number;
  random?: (n: number) => Uint8Array;
  maxLineBytes?: number;
  /** Time to confirm a factory reset (default 30 s). */
  confirmTtlMs?: number;
  maxFailures?: number;
  baseLockoutMs?: number;
  maxLockoutMs?: number;
  challengeTtlMs?: number;
}

export type ConsoleAnswer = { ok: true; cmd: string; [k: string]: unknown } | {
  ok: false; cmd?: string; error: { code: string; message: string; [k: string]: unknown };
};

export class ConsoleSession {
  readonly guard: TechnicianGuard;
  readonly audit: AuditLog;
  readonly now: () => number;
  readonly random: (n: number) => Uint8Array;
  readonly maxLineBytes: number;
  pendingReset?: { token: string; expiresAt: number };

  constructor(readonly agent: ConsoleAgent, readonly opts: ConsoleOptions) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? ((n) => new Uint8Array(randomBytes(n)));
    this.maxLineBytes = opts.maxLineBytes ?? MAX_LINE_BYTES;
    this.audit = new AuditLog(opts.auditLogPath, this.now);
    this.guard = new TechnicianGuard({ ...opts, now: this.now, random: this.random });
  }

  /** Answers one framed line. Never throws. */
  async handle(framed: FramedLine): Promise<ConsoleAnswer> {
    let text = `<${'tooLong' in framed ? framed.tooLong : framed.line.length} bytes>`;
    let cmd: string | undefined;
    let answer: ConsoleAnswer;
    try {
      if ('tooLong' in framed) throw new ConsoleError('LINE_TOO_LONG', `line of ${framed.tooLong} bytes exceeds ${this.maxLineBytes}; discarded`);
      text = decodeLine(framed.line);
      const words = tokenize(text);
      if (words.length === 0) throw new ConsoleError('EMPTY_LINE', 'empty line; type `help`');
      cmd = words[0]!;
      const result = await this.dispatch(words, (c) => (cmd = c));
      answer = { ok: true, cmd, ...result };
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown; details?: Record<string, unknown> };
      const code = typeof e.code === 'string' ? e.code : 'INTERNAL';
      const message = typeof e.message === 'string' ? e.message : String(err);
      answer = { ok: false, ...(cmd !== undefined ? { cmd: excerpt(cmd) } : {}), error: { code, message, ...e.details } };
    }
    try {
      this.audit.append({
        line: excerpt(text, 200), ...(cmd !== undefined ? { cmd: excerpt(cmd) } : {}),
        ...(this.guard.technician ? { technician: this.guard.technician.technicianId } : {}),
        ok: answer.ok, ...(answer.ok ? {} : { code: answer.error.code }),
      });
    } catch (cause) {
      // An audit log that cannot be written refuses the answer it would have recorded.
      answer = { ok: false, ...(cmd !== undefined ? { cmd } : {}), error: { code: 'AUDIT_FAILED', message: `audit log not writable: ${(cause as Error).message}` } };
    }
    return answer;
  }

  private async dispatch(words: string[], setCmd: (c: string) => void): Promise<Record<string, unknown>> {
    let signedBy: CommandContext['technician'];
    let name = words[0]!;
    let args = words.slice(1);
    if (name === 'sign') {
      if (args.length < 2) throw new ConsoleError('USAGE', 'usage: sign <sig-hex> <command> [args...]');
      const inner = args.slice(1);
      const spec = COMMANDS.get(inner[0]!);
      if (!spec) throw new ConsoleError('UNKNOWN_COMMAND', `unknown command "${excerpt(inner[0]!)}"; type \`help\``);
      if (!spec.privileged) throw new ConsoleError('NOT_SIGNABLE', `${inner[0]} does not need a signature`);
      checkArity(inner[0]!, spec, inner.slice(1));
      signedBy = this.guard.authorise(args[0]!, inner.join(' '), spec.targets(inner.slice(1), this.agent.settings.get()));
      name = inner[0]!;
      args = inner.slice(1);
      setCmd(name);
    }
    const spec = COMMANDS.get(name);
    if (!spec) throw new ConsoleError('UNKNOWN_COMMAND', `unknown command "${excerpt(name)}"; type \`help\``);
    checkArity(name, spec, args);
    if (spec.privileged && !signedBy) {
      throw new ConsoleError('AUTH_REQUIRED', `${name} changes state: run \`auth <credential-hex>\`, \`challenge\`, then \`sign <sig-hex> ${name} ...\``);
    }
    return spec.run(args, { session: this, technician: signedBy });
  }
}

function checkArity(name: string, spec: { usage: string; minArgs: number; maxArgs: number }, args: string[]): void {
  if (args.length < spec.minArgs || args.length > spec.maxArgs) throw new ConsoleError('USAGE', `usage: ${spec.usage}`);
}
