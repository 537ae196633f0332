// README §Policy: scheduled windows only in slots. Each tick of the node-cron expression (evaluated in UTC)
// opens a slot of slotMs during which scheduled open requests are granted; outside slots only an operator's
// request is. The gate only grants permission; the window itself still needs a collector to ask for it.
import { schedule as cronSchedule, type ScheduledTask } from 'node-cron';

export class ScheduleGate {
  readonly #task: ScheduledTask;
  readonly #slotMs: number;
  readonly #now: () => number;
  #slotUntilMs = 0;

  constructor(cron: string, slotMs: number, now: () => number = Date.now) {
    this.#slotMs = slotMs;
    this.#now = now;
    this.#task = cronSchedule(cron, () => this.openSlot(), { timezone: 'Etc/UTC', name: 'airgap-schedule' });
  }

  /** Starts a slot now (called at each cron tick). */
  openSlot(): void {
    this.#slotUntilMs = this.#now() + this.#slotMs;
  }

  slotOpen(): boolean {
    return this.#now() < this.#slotUntilMs;
  }

  /** For status: whether a slot is open, until when, and the next tick (ISO-8601 UTC). */
  view(): { slotOpen: boolean; slotUntil: string | null; nextSlotAt: string | null } {
    const next = this.#task.getNextRun();
    return {
      slotOpen: this.slotOpen(),
      slotUntil: this.slotOpen() ? new Date(this.#slotUntilMs).toISOString() : null,
      nextSlotAt: next ? next.toISOString() : null,
    };
  }

  async stop(): Promise<void> {
    await this.#task.destroy();
  }
}
