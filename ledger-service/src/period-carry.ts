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

/** One meter's key state as descriptors (entries fetched later, batch by batch). */
interface Pending {
  oldIndex: bigint;
  effect: AppendEffect;
}

/** What must be carried out of `old`, in the old log's order (entries fetched lazily by `entries`). */
export function carriedState(old: LedgerStore): { count: number; batches(size: number): Generator<CarriedEntry[]> } {
  const pending: Pending[] = [];
  for (const { meterId } of old.listMeters()) {
    const m = old.getMeter(meterId);
    if (!m) continue;
    pending.push({
      oldIndex: m.registrationIndex,
      effect: {
        kind: 'registration',
        meter: { meterId, identityPublicKey: m.identityPublicKey, registeredAtMs: m.registeredAtMs, certificate: m.certificate, certificateSignature: m.certificateSignature },
      },
    });
    for (const e of old.meterEvents(meterId)) {
      const { leafIndex, ...event } = e;
      pending.push({ oldIndex: leafIndex, effect: { kind: 'meter-event', event } });
    }
    const b = old.latestBinding(meterId);
    if (b) {
      const { leafIndex, ...binding } = b;
      pending.push({ oldIndex: leafIndex, effect: { kind: 'carried-binding', binding } });
    }
  }
  pending.sort((a, b) => (a.oldIndex < b.oldIndex ? -1 : a.oldIndex > b.oldIndex ? 1 : 0));
  return {
    count: pending.length,
    *batches(size: number) {
      for (let i = 0; i < pending.length; i += size) {
        yield pending.slice(i, i + size).map((p) => {
          const entry = old.getEntry(p.oldIndex);
          if (!entry) throw new LedgerError('STORE_CORRUPT', `entry ${p.oldIndex} of the closing log is missing; cannot carry it`);
          return { oldIndex: p.oldIndex, entry, effect: p.effect };
        });
      }
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
