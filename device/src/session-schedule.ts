// Session keys on a schedule (issue 5 item 6): at each tick of a node-cron expression (evaluated in UTC,
// e.g. "0 3 * * *" daily at 03:00) the agent re-authenticates and binds a fresh session key whose firstSeq is
// the next sequence number it will use. Readings already queued stay valid: the ledger judges each anchor by
// the binding that covers its seq (docs/protocol.md §7), not by which key is newest. A failed rotation is
// logged and retried at the next tick; the current key keeps signing meanwhile.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { schedule as cronSchedule, validate, type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import { AgentError } from './errors.js';

export function assertCron(expr: string): void {
  if (!validate(expr)) throw new AgentError('BAD_SCHEDULE', `"${expr.slice(0, 60)}" is not a node-cron expression`);
}

export interface SessionSchedule {
  /** The next rotation (UTC), or null. */
  nextRun(): Date | null;
  rotations(): number;
  stop(): Promise<void>;
}

export function startSessionSchedule(expr: string, rotate: () => Promise<unknown>, log: Logger): SessionSchedule {
  assertCron(expr);
  let count = 0;
  const task: ScheduledTask = cronSchedule(expr, async () => {
    try {
      await rotate();
      count++;
      log.info({ rotations: count }, 'session key rotated on schedule');
    } catch (err) {
      log.warn({ err: (err as Error).message, code: (err as { code?: string }).code }, 'scheduled session key rotation failed; the current key stays in use');
    }
  }, { timezone: 'Etc/UTC', name: 'session-key-rotation', noOverlap: true });
  return {
    nextRun: () => task.getNextRun(),
    rotations: () => count,
    stop: async () => void (await task.destroy()),
  };
}

/**
 * The agent's own key history (issue 5 item 6): the session key ids it made, in `session-keys.json` (0600)
 * in the data dir. After each binding the ledger lists every key id bound for the meter; one the agent did
 * not make means someone else holds the identity key (a cloned board): `check` returns it and the agent
 * logs an alarm. The first check after this file appears (an upgraded agent) adopts the ledger's list.
 */
export class KeyHistoryCheck {
  private made: Set<string>;
  private readonly seeded: boolean;
  constructor(private readonly path: string) {
    let ids: unknown = null;
    try {
      ids = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      ids = null;
    }
    this.seeded = Array.isArray(ids);
    this.made = new Set(Array.isArray(ids) ? ids.filter((x): x is string => typeof x === 'string') : []);
  }

  /** Records `ownKeyId`, then returns the ledger's key ids this agent never made. */
  check(ownKeyId: string, ledgerKeyIds: string[] | undefined): string[] {
    this.made.add(ownKeyId);
    let foreign: string[] = [];
    if (ledgerKeyIds) {
      if (!this.seeded && this.made.size === 1) for (const k of ledgerKeyIds) this.made.add(k); // trust on first check
      else foreign = ledgerKeyIds.filter((k) => !this.made.has(k));
    }
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.made]) + '\n', { mode: 0o600 });
    renameSync(tmp, this.path);
    return foreign;
  }
}
