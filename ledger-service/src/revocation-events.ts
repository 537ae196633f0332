// Operator events per meter (issue 5): revocations (Revocation 0x09) and approved meter exchanges
// (MeterExchangeApproval 0x0A). The log entry is the operator-signed record itself; this table is the index
// derived from it, written in the append's transaction (store.ts AppendEffect 'meter-event').
// Statements are prepared on first use, so a read-only store opened on an older data dir still works.
import type Database from 'better-sqlite3';

export const METER_EVENTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS meter_events (
  leaf_index INTEGER PRIMARY KEY, meter_id TEXT NOT NULL, event TEXT NOT NULL, key_id BLOB NOT NULL,
  detail TEXT NOT NULL, new_key BLOB, at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS meter_events_by_meter ON meter_events (meter_id, leaf_index);
`;

export type MeterEventKind = 'revoked' | 'exchange-approved';

export interface MeterEventRow {
  leafIndex: bigint;
  meterId: string;
  event: MeterEventKind;
  /** The identity key id the event applies to (the one revoked, or the one an exchange replaces). */
  identityKeyId: Uint8Array;
  /** The revocation reason, or the approving operator for an exchange. */
  detail: string;
  /** For an exchange: the approved new identity public key. */
  newIdentityPublicKey?: Uint8Array;
  atMs: number;
}

type Row = Record<string, unknown>;

export class SqliteMeterEvents {
  private ins?: Database.Statement;
  private sel?: Database.Statement;
  private tableChecked = false;
  private hasTable = false;

  constructor(private readonly db: Database.Database, writer: boolean) {
    if (writer) db.exec(METER_EVENTS_SCHEMA);
  }

  insert(leafIndex: bigint, e: Omit<MeterEventRow, 'leafIndex'>): void {
    this.ins ??= this.db.prepare('INSERT INTO meter_events (leaf_index, meter_id, event, key_id, detail, new_key, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.ins.run(leafIndex, e.meterId, e.event, e.identityKeyId, e.detail, e.newIdentityPublicKey ?? null, e.atMs);
  }

  /** The meter's events in log order. */
  list(meterId: string): MeterEventRow[] {
    if (!this.tableChecked) {
      this.hasTable = this.db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'meter_events'").get() !== undefined;
      this.tableChecked = this.hasTable; // a read-only view re-checks until a writer made the table
    }
    if (!this.hasTable) return [];
    this.sel ??= this.db.prepare('SELECT * FROM meter_events WHERE meter_id = ? ORDER BY leaf_index');
    return (this.sel.all(meterId) as Row[]).map((r) => ({
      leafIndex: BigInt(r.leaf_index as bigint | number),
      meterId: r.meter_id as string,
      event: r.event as MeterEventKind,
      identityKeyId: new Uint8Array(r.key_id as Buffer),
      detail: r.detail as string,
      ...(r.new_key ? { newIdentityPublicKey: new Uint8Array(r.new_key as Buffer) } : {}),
      atMs: Number(r.at_ms),
    }));
  }
}

/** A meter exchange completes: the approved key's Registration entry replaces the meter's row. */
export function replaceMeterRow(db: Database.Database, idx: bigint, m: {
  meterId: string; identityPublicKey: Uint8Array; registeredAtMs: number; certificate: Uint8Array; certificateSignature: Uint8Array;
}): void {
  const r = db.prepare(`UPDATE meters SET identity_pub = ?, registration_index = ?, registered_at_ms = ?, certificate = ?, certificate_sig = ?
                        WHERE meter_id = ?`).run(m.identityPublicKey, idx, m.registeredAtMs, m.certificate, m.certificateSignature, m.meterId);
  if (r.changes !== 1) throw new Error(`meter ${m.meterId} is not registered: nothing to exchange`);
}
