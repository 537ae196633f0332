// How many durable small appends per second the filesystem under `dir` takes: write 4 KiB (a SQLite page)
// at the end of a file, then fdatasync — what a WAL commit with synchronous=FULL costs at least
// (https://www.sqlite.org/wal.html, https://www.sqlite.org/pragma.html#pragma_synchronous). A ledger that
// commits each anchor on its own can append no faster than this.
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export function fsyncRate(dir: string, ms: number): number {
  const scratch = mkdtempSync(join(dir, 'fsync-'));
  const fd = openSync(join(scratch, 'probe'), 'a');
  try {
    const page = Buffer.alloc(4096, 0x5a);
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    do {
      writeSync(fd, page);
      fdatasyncSync(fd);
      n++;
      elapsed = performance.now() - start;
    } while (elapsed < ms);
    return (n * 1000) / elapsed;
  } finally {
    closeSync(fd);
    rmSync(scratch, { recursive: true, force: true });
  }
}
