import { readFileSync, statSync } from 'node:fs';
import t from 'tap';
import { AuditLog, type AuditRecord } from './audit.js';
import { readAudit, tempAuditPath } from './test-fixtures/harness.js';

const record = (windowId: string, event: 'open' | 'close'): AuditRecord => ({
  time: '2025-06-01T02:00:00.000Z',
  event,
  windowId,
  reason: 'r',
  driver: 'relay',
  relay: { host: '127.0.0.1', port: 40123 },
  openedAt: '2025-06-01T02:00:00.000Z',
  closesAt: '2025-06-01T02:02:00.000Z',
  durationMs: event === 'close' ? 5 : null,
  error: null,
  bytesToTarget: event === 'close' ? 1 : null,
  bytesFromTarget: event === 'close' ? 2 : null,
  closedBy: event === 'close' ? 'requested' : null,
});

t.test('appends one JSON line per record, never truncating what is there, private to its owner', async (t) => {
  const path = tempAuditPath(t);
  const first = new AuditLog(path); // creates the missing directory
  first.append(record('w1', 'open'));
  first.append(record('w1', 'close'));
  first.close();
  first.close(); // idempotent
  t.throws(() => first.append(record('w9', 'open')), /closed/);
  t.equal(statSync(path).mode & 0o777, 0o600);

  const second = new AuditLog(path); // a restarted controller appends to the same file
  second.append(record('w2', 'open'));
  second.close();
  t.same(
    readAudit(path).map((r) => [r.windowId, r.event, r.closedBy]),
    [
      ['w1', 'open', null],
      ['w1', 'close', 'requested'],
      ['w2', 'open', null],
    ],
  );
  t.ok(readFileSync(path, 'utf8').endsWith('}\n'), 'every record ends its line');
});
