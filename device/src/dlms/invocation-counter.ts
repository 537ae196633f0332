// The client's HLS invocation counter kept in a file, so it survives restarts: Green Book §9.2.7.2 and
// NIST SP 800-38D §8 (an IV never repeats under one key; meters refuse a counter they have already seen). Each
// value is written to disk (write, fsync, rename) before it is used, so a crash can skip values, never reuse them.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { DlmsError } from './errors.js';
import { MAX_INVOCATION_COUNTER, type InvocationCounter } from './cosem/hls.js';

export class FileInvocationCounter implements InvocationCounter {
  constructor(readonly path: string, private readonly initial: bigint = 0n) {}

  /** The next value to use (persisted as already used), or LIMIT when the counter is exhausted. */
  next(): bigint {
    const value = this.peek();
    if (value > MAX_INVOCATION_COUNTER) throw new DlmsError('LIMIT', 'HLS invocation counter exhausted: change the keys');
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${value + 1n}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    return value;
  }

  /** The value next() would return. */
  peek(): bigint {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8').trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.initial;
      throw new DlmsError('STATE', `cannot read invocation counter ${this.path}: ${(err as Error).message}`, { cause: err });
    }
    if (!/^[0-9]{1,20}$/.test(text)) throw new DlmsError('STATE', `invocation counter file ${this.path} is corrupt: refusing to guess (a reused counter breaks HLS)`);
    const stored = BigInt(text);
    return stored > this.initial ? stored : this.initial;
  }
}
