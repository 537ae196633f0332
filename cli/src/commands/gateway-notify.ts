// systemd readiness and watchdog for `meterseal gateway` (sd_notify(3)): when started by systemd with
// Type=notify and WatchdogSec=, NOTIFY_SOCKET and WATCHDOG_USEC are set; we send READY=1 once started and
// WATCHDOG=1 at half the watchdog period while the gateway's event loop and poll schedule are alive. Node has
// no AF_UNIX datagram sockets, so the messages go through systemd-notify(1) with --pid (the unit needs
// NotifyAccess=all, hardware/deploy/systemd/meterseal-gateway.service). Without NOTIFY_SOCKET: nothing.
import { execFile } from 'node:child_process';
import type { Logger } from 'pino';

export interface SdNotify {
  stop(): void;
}

function notify(log: Logger, ...fields: string[]): void {
  execFile('systemd-notify', [`--pid=${process.pid}`, ...fields], (err) => {
    if (err) log.warn({ err: err.message, fields }, 'systemd-notify failed');
  });
}

/** READY=1 now; then WATCHDOG=1 every WATCHDOG_USEC/2 while alive() says so. */
export function startSdNotify(log: Logger, alive: () => boolean, env: NodeJS.ProcessEnv = process.env): SdNotify {
  if (!env.NOTIFY_SOCKET) return { stop: () => undefined };
  notify(log, 'READY=1', 'STATUS=gateway running');
  const usec = Number(env.WATCHDOG_USEC ?? 0);
  if (!Number.isFinite(usec) || usec <= 0) return { stop: () => undefined };
  const timer = setInterval(() => {
    if (alive()) notify(log, 'WATCHDOG=1');
    else log.error('gateway not healthy: withholding the watchdog ping so systemd restarts it');
  }, Math.max(500, usec / 2000));
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
