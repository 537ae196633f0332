// Read-only views of a controller for dashboards: the live state through the control protocol's "status"
// op (README §Control protocol), and the recent history from the audit log file (README §Audit log).
import { connect } from 'node:net';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { AirgapError } from './errors.js';
import { LineFramer } from './framer.js';
import { encodeLine, parseJsonLine } from './protocol.js';
import type { AuditRecord } from './audit.js';

export interface AirgapStatusView {
  open: boolean;
  windows: number;
  current?: Record<string, unknown>;
}

/** Asks the controller for its status on a fresh control connection; never opens anything. */
export function airgapStatus(control: { host: string; port: number }, timeoutMs = 3000): Promise<AirgapStatusView> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: control.host, port: control.port });
    const framer = new LineFramer();
    const fail = (err: AirgapError): void => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(timeoutMs, () => fail(new AirgapError('TIMEOUT', `no status answer within ${timeoutMs} ms`)));
    socket.once('error', (cause) => fail(new AirgapError('CONTROL_UNREACHABLE', `cannot reach the controller at ${control.host}:${control.port}`, { cause })));
    socket.once('connect', () => socket.write(encodeLine({ op: 'status' })));
    socket.on('data', (chunk: Buffer) => {
      const { lines, error } = framer.push(chunk);
      if (error) return fail(error);
      for (const line of lines) {
        if (line.length === 0) continue;
        let msg: unknown;
        try {
          msg = parseJsonLine(line);
        } catch (err) {
          return fail(err instanceof AirgapError ? err : new AirgapError('PROTOCOL_ERROR', 'bad status answer'));
        }
        const m = msg as Record<string, unknown>;
        if (typeof m !== 'object' || m === null || m.ok !== true || typeof m.open !== 'boolean' || typeof m.windows !== 'number') {
          return fail(new AirgapError('PROTOCOL_ERROR', 'the status answer is not {ok:true, open, windows}'));
        }
        socket.end();
        const view: AirgapStatusView = { open: m.open, windows: m.windows };
        if (typeof m.current === 'object' && m.current !== null) view.current = m.current as Record<string, unknown>;
        return resolve(view);
      }
    });
  });
}

/**
 * The last `limit` parseable records of an audit log, newest first. Reads at most `maxBytes` from the end
 * of the file; lines that are not JSON objects with a string `event` are skipped (the file is evidence, not
 * trusted input for rendering: callers escape every field).
 */
export function readAuditTail(path: string, limit = 100, maxBytes = 256 * 1024): Array<Partial<AuditRecord> & { event: string }> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return [];
  }
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - maxBytes);
    const buf = Buffer.alloc(size - start);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, start + got);
      if (n === 0) break;
      got += n;
    }
    const lines = buf.subarray(0, got).toString('utf8').split('\n');
    if (start > 0) lines.shift(); // a partial first line
    const out: Array<Partial<AuditRecord> & { event: string }> = [];
    for (let i = lines.length - 1; i >= 0 && out.length < limit; i--) {
      const line = lines[i]!.trim();
      if (!line) continue;
      try {
        const v = JSON.parse(line) as unknown;
        if (typeof v === 'object' && v !== null && typeof (v as { event?: unknown }).event === 'string') out.push(v as AuditRecord);
      } catch {
        // skipped: not a record
      }
    }
    return out;
  } finally {
    closeSync(fd);
  }
}
