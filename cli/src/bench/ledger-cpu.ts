// CPU time of the `ledger` benchmark's publish phase, per anchor: the whole process (every thread: the event
// loop, the verify/sign workers, V8's and libuv's helpers) from process.cpuUsage, and the main thread — the
// event loop that carries the broker, the ledger's decisions, SQLite and, in this benchmark, the meters' MQTT
// clients — from Linux's /proc/self/task/<pid>/stat (utime + stime, clock ticks of 10 ms). Unlike anchors/s,
// these move little when other jobs share the machine, so A/B runs on a busy VM can be compared by them.
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // sysconf(_SC_CLK_TCK) on Linux

/** CPU milliseconds of the main thread so far, or undefined where /proc is not there. */
function mainThreadMs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // fields after the parenthesised comm: state is field 3, utime 14, stime 15 (proc(5))
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

export interface CpuSplit {
  /** Every thread of the process, µs per anchor. */
  processUsPerAnchor: number;
  /** The main thread (event loop), µs per anchor; undefined off Linux. */
  mainThreadUsPerAnchor: number | undefined;
}

/** Starts measuring; the returned function ends it and divides by `anchors`. */
export function cpuMeter(): (anchors: number) => CpuSplit {
  const usage = process.cpuUsage();
  const main = mainThreadMs();
  return (anchors) => {
    const d = process.cpuUsage(usage);
    const mainNow = mainThreadMs();
    return {
      processUsPerAnchor: (d.user + d.system) / anchors,
      mainThreadUsPerAnchor: main !== undefined && mainNow !== undefined ? ((mainNow - main) * 1000) / anchors : undefined,
    };
  };
}
