// The key state a new period's log carries over from the previous one (docs/ledger.md "Log rotation by
// period"): for every meter, its Registration entry in force, its operator events (revocations, approved
// exchanges) and its LATEST KeyBinding — byte-for-byte copies of those entries of the previous log, in their
// original log order, appended right after the PreviousLog entry 0. The PreviousLog record counts them
// (`carried`), so an auditor knows entries 1..carried are copies and can compare each with the previous log.
// The new log is then self-contained: a meter bound in period N keeps anchoring in N+1 without binding
// again, a revoked meter stays revoked, and every receipt's binding proof is against the same log as its
// anchor. Older bindings are not carried: they cover only seqs below the latest binding's firstSeq, which a
// meter anchors in the period of their arrival.
import { LedgerError } from './errors.js';
import type { AppendEffect, LedgerStore } from './store.js';

export interface CarriedEntry {
  /** Leaf index in the previous log (the order they are carried in). */
  oldIndex: bigint;
  entry: Uint8Array;
  effect: AppendEffect;
}

/** One carried entry as a descriptor (its bytes are fetched later, batch by batch). */
export interface CarryDescriptor {
  oldIndex: bigint;
  effect: AppendEffect;
}

export const byOldIndex = (a: { oldIndex: bigint }, b: { oldIndex: bigint }): number => (a.oldIndex < b.oldIndex ? -1 : a.oldIndex > b.oldIndex ? 1 : 0);

/** What one meter carries out of `old`: its registration in force, its operator events, its latest binding. */
export function meterCarried(old: LedgerStore, meterId: string): CarryDescriptor[] {
  const m = old.getMeter(meterId);
  if (!m) return [];
  const out: CarryDescriptor[] = [{
    oldIndex: m.registrationIndex,
    effect: {
      kind: 'registration',
      meter: { meterId, identityPublicKey: m.identityPublicKey, registeredAtMs: m.registeredAtMs, certificate: m.certificate, certificateSignature: m.certificateSignature },
    },
  }];
  for (const e of old.meterEvents(meterId)) {
    const { leafIndex, ...event } = e;
    out.push({ oldIndex: leafIndex, effect: { kind: 'meter-event', event } });
  }
  const b = old.latestBinding(meterId);
  if (b) {
    const { leafIndex, ...binding } = b;
    out.push({ oldIndex: leafIndex, effect: { kind: 'carried-binding', binding } });
  }
  return out;
}

export function fetchCarried(old: LedgerStore, d: CarryDescriptor): CarriedEntry {
  const entry = old.getEntry(d.oldIndex);
  if (!entry) throw new LedgerError('STORE_CORRUPT', `entry ${d.oldIndex} of the closing log is missing; cannot carry it`);
  return { oldIndex: d.oldIndex, entry, effect: d.effect };
}

export interface CarryState {
  count: number;
  batches(size: number): Generator<CarriedEntry[]>;
}

/** What must be carried out of `old`, in the old log's order (entries fetched lazily by `batches`). */
export function carriedState(old: LedgerStore): CarryState {
  const pending: CarryDescriptor[] = [];
  for (const { meterId } of old.listMeters()) pending.push(...meterCarried(old, meterId));
  pending.sort(byOldIndex);
  return {
    count: pending.length,
    *batches(size: number) {
      for (let i = 0; i < pending.length; i += size) yield pending.slice(i, i + size).map((p) => fetchCarried(old, p));
    },
  };
}


/** Counter corrections after carrying: copies are not new registrations or operator events. */
export function carriedCounterDeltas(entries: readonly CarriedEntry[]): Record<string, number> {
  const d: Record<string, number> = {};
  for (const e of entries) {
    if (e.effect.kind === 'registration') d['registrations'] = (d['registrations'] ?? 0) - 1;
    if (e.effect.kind === 'meter-event') d[`operator.${e.effect.event.event}`] = (d[`operator.${e.effect.event.event}`] ?? 0) - 1;
  }
  return d;
}
