// Reconciliation through the air-gap controller: open a window, reconcile through its relay, and ALWAYS
// close the window again — whether the run succeeded, failed, or the window closed under it (deadline,
// controller shutdown, lost control connection), which aborts the run with WINDOW_CLOSED.
import type { Logger } from 'pino';
import { openWindow, type Window } from '@meterseal/airgap-controller';
import type { NoteVerifier } from '@meterseal/protocol';
import { CollectorError, describe } from './errors.js';
import { reconcile, type ReconcileOptions, type ReconcileProgress } from './reconcile.js';
import type { Report } from './report.js';
import type { CollectorStore } from './store.js';

export interface ReconcileThroughAirgapOptions {
  store: CollectorStore;
  /** The air-gap controller's control port. */
  airgap: { host: string; port: number };
  verifier: NoteVerifier;
  /** Why the window is needed (1..200 characters): recorded in the controller's audit log. */
  reason: string;
  /** An operator's own request (airgap-controller README §Policy): granted outside the schedule, recorded with the name. */
  operator?: string;
  /** The longest window to ask for. */
  maxMs?: number;
  log: Logger;
  reportsDir?: string;
  onProgress?: (p: ReconcileProgress) => void;
  /** Passed on to reconcile(): the reading interval, witness quorum, the collector's own witness, the runs store. */
  reconcile?: Pick<ReconcileOptions, 'intervalMs' | 'witnesses' | 'witness' | 'runs' | 'now' | 'range' | 'gaps' | 'corrections' | 'rehashWorkers' | 'periodCache'>;
}

export async function reconcileThroughAirgap(o: ReconcileThroughAirgapOptions): Promise<Report> {
  const log = o.log.child({ component: 'window' });
  let window: Window;
  try {
    window = await openWindow({
      control: o.airgap,
      reason: o.reason,
      ...(o.operator === undefined ? {} : { operator: o.operator }),
      ...(o.maxMs === undefined ? {} : { maxMs: o.maxMs }),
    });
  } catch (cause) {
    throw new CollectorError('WINDOW_FAILED', `the air-gap controller at ${o.airgap.host}:${o.airgap.port} did not open a window: ${describe(cause)}`, { cause });
  }
  log.info({ windowId: window.windowId, relayUrl: window.relayUrl, closesAt: window.closesAt.toISOString() }, 'air-gap window open');

  const abort = new AbortController();
  let endedBy: string | undefined;
  void window.closed.then((reason) => {
    endedBy = reason;
    abort.abort(new CollectorError('WINDOW_CLOSED', `the air-gap window closed (${reason}) before the reconciliation finished`));
  });
  try {
    return await reconcile({
      store: o.store,
      relayUrl: window.relayUrl,
      verifier: o.verifier,
      log: o.log,
      signal: abort.signal,
      ...(o.reportsDir === undefined ? {} : { reportsDir: o.reportsDir }),
      ...(o.onProgress === undefined ? {} : { onProgress: o.onProgress }),
      ...o.reconcile,
    });
  } catch (err) {
    if (endedBy === undefined && err instanceof CollectorError && err.code === 'LEDGER_UNREACHABLE') {
      // the relay may have cut the connection a moment before the controller's "closed" event arrives
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([window.closed, new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
      clearTimeout(timer);
    }
    if (endedBy !== undefined && !(err instanceof CollectorError && err.code === 'CHECKPOINT_INVALID')) {
      throw new CollectorError('WINDOW_CLOSED', `the air-gap window closed (${endedBy}) before the reconciliation finished`, { cause: err });
    }
    throw err;
  } finally {
    await window.close().catch((err: unknown) => log.error({ err: describe(err) }, 'closing the air-gap window failed'));
    log.info({ windowId: window.windowId, closedBy: endedBy ?? 'requested' }, 'air-gap window closed');
  }
}
