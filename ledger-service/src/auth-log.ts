// Bounded logging of failed authentications (issue 3 item 4, issue 5). Every pass and the first
// `perMeter` failures of a meter in a window are logged as AuthResult entries; further failures in that
// window are counted and, when the window is over, logged as ONE AuthSummary (0x0B). Failures for meter ids
// that are not registered (anyone can send those) share one budget, `unregistered`, per window. So the
// log grows by at most (perMeter + 1) entries per meter and (unregistered + 1) entries per window.
// Summaries are written at the next authentication request after the window closes, or by flush().
import type { AuthSummary } from '@meterseal/protocol';

export interface AuthLimits {
  windowMs: number;
  /** Failures logged one by one per registered meter and window. */
  perMeter: number;
  /** Failures logged one by one per window for all unregistered meter ids together. */
  unregistered: number;
}

export const DEFAULT_AUTH_LIMITS: AuthLimits = { windowMs: 600_000, perMeter: 5, unregistered: 20 };

interface Window {
  fromMs: number;
  logged: number;
  suppressed: Map<string, number>;
}

const UNREGISTERED = '\u0000unregistered';

export class AuthFailureLog {
  private readonly windows = new Map<string, Window>();
  constructor(private readonly limits: AuthLimits = DEFAULT_AUTH_LIMITS) {}

  /** A failure: true when it should be logged as its own AuthResult entry, false when summarised. */
  admit(meterId: string, registered: boolean, reason: string, nowMs: number): boolean {
    const key = registered ? meterId : UNREGISTERED;
    let w = this.windows.get(key);
    if (!w || nowMs - w.fromMs >= this.limits.windowMs) {
      if (w && w.suppressed.size > 0) return this.pendingFirst(key, w, nowMs, meterId, registered, reason);
      w = { fromMs: nowMs, logged: 0, suppressed: new Map() };
      this.windows.set(key, w);
    }
    if (w.logged < (registered ? this.limits.perMeter : this.limits.unregistered)) {
      w.logged++;
      return true;
    }
    w.suppressed.set(reason, (w.suppressed.get(reason) ?? 0) + 1);
    return false;
  }

  // A closed window with suppressed failures stays until due() hands out its summary; the new failure
  // starts the next window right after.
  private pendingFirst(key: string, w: Window, nowMs: number, meterId: string, registered: boolean, reason: string): boolean {
    this.closed.push(this.summaryOf(key, w, nowMs));
    this.windows.delete(key);
    return this.admit(meterId, registered, reason, nowMs);
  }

  private readonly closed: AuthSummary[] = [];

  private summaryOf(key: string, w: Window, nowMs: number): AuthSummary {
    const reasons = [...w.suppressed].sort(([a], [b]) => (a < b ? -1 : 1)).map(([reason, count]) => ({ reason, count }));
    return {
      scope: key === UNREGISTERED ? 'unregistered' : 'meter', meterId: key === UNREGISTERED ? '' : key,
      fromMs: BigInt(w.fromMs), toMs: BigInt(Math.min(nowMs, w.fromMs + this.limits.windowMs)),
      failures: reasons.reduce((n, r) => n + r.count, 0), reasons,
    };
  }

  /** Summaries of windows that are over (or all, with `all`), to append now; each is handed out once. */
  due(nowMs: number, all = false): AuthSummary[] {
    for (const [key, w] of this.windows) {
      if (!all && nowMs - w.fromMs < this.limits.windowMs) continue;
      if (w.suppressed.size > 0) this.closed.push(this.summaryOf(key, w, nowMs));
      this.windows.delete(key);
    }
    return this.closed.splice(0);
  }
}

/**
 * Failed authentications per source (issue 5): the MQTT client id and the remote address a request came
 * from, known when the ledger runs the embedded broker (broker.ts tags each request). A source with
 * `max` failures in the window is refused further auth attempts until the window is over — without a
 * signature check or a log entry. Keyed by source, not meter id, so a stranger cannot lock a meter out.
 * Bounded: at most `maxKeys` sources are tracked (the oldest windows are dropped first).
 */
export class SourceFailureLimit {
  private readonly windows = new Map<string, { fromMs: number; failures: number }>();
  constructor(private readonly max: number, private readonly windowMs: number, private readonly maxKeys = 10_000) {}

  /** True when this source may not try again in the current window. */
  blocked(key: string, nowMs: number): boolean {
    const w = this.windows.get(key);
    if (!w) return false;
    if (nowMs - w.fromMs >= this.windowMs) {
      this.windows.delete(key);
      return false;
    }
    return w.failures >= this.max;
  }

  fail(key: string, nowMs: number): void {
    let w = this.windows.get(key);
    if (!w || nowMs - w.fromMs >= this.windowMs) {
      this.windows.delete(key);
      while (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
      this.windows.set(key, (w = { fromMs: nowMs, failures: 0 }));
    }
    w.failures++;
  }
}
