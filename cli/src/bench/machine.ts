// The machine a run was measured on, printed with every result: figures mean nothing without it.
import { availableParallelism, cpus, loadavg, totalmem, type as osType, release, arch } from 'node:os';

export interface Machine {
  cpu: string;
  /** Logical CPUs Node may use (os.availableParallelism()). */
  cores: number;
  node: string;
  os: string;
  memoryGiB: number;
  /** 1-minute load average when the run started: other work on the machine skews absolute figures (ratios less so). */
  loadAverage1m: number;
}

export function describeMachine(): Machine {
  const list = cpus();
  const model = list[0]?.model.trim() || 'unknown';
  const mhz = list[0]?.speed;
  return {
    cpu: mhz ? `${model} (${mhz} MHz)` : model,
    cores: availableParallelism(),
    node: process.version,
    os: `${osType()} ${release()} ${arch()}`,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
  };
}

export function machineLine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.os}; load average ${m.loadAverage1m} at start`;
}
