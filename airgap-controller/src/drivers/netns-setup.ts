// Creates and destroys the netns driver's topology: two namespaces, one veth pair between them with an
// address on each end, both ends left DOWN (the gap is closed until the controller opens a window).
// Used by the tests; operators can run the same steps by hand (README §netns) or call these.
import { AirgapError } from '../errors.js';
import { ipRunner, type IpRunner } from './ip-command.js';
import { validateNetnsLayout, type NetnsLayout } from './netns.js';

/**
 * ip netns add ledgerNs; ip netns add collectorNs; a veth pair moved one end into each; addresses on
 * both ends; lo up in both; veth ends down. On failure, whatever was created is removed again.
 */
export async function setupNetns(layout: NetnsLayout, options: { ipPath?: string } = {}): Promise<void> {
  validateNetnsLayout(layout);
  const ip = ipRunner(options.ipPath);
  const { ledgerNs, collectorNs, vethLedger, vethCollector, ledgerAddr, collectorAddr } = layout;
  try {
    await ip(['netns', 'add', ledgerNs]);
    await ip(['netns', 'add', collectorNs]);
    // Created directly inside the namespaces, so the names never touch the host's own interfaces.
    await ip(['-n', ledgerNs, 'link', 'add', 'dev', vethLedger, 'type', 'veth', 'peer', 'name', vethCollector, 'netns', collectorNs]);
    await ip(['-n', ledgerNs, 'addr', 'add', ledgerAddr, 'dev', vethLedger]);
    await ip(['-n', collectorNs, 'addr', 'add', collectorAddr, 'dev', vethCollector]);
    for (const ns of [ledgerNs, collectorNs]) await ip(['-n', ns, 'link', 'set', 'dev', 'lo', 'up']);
    await ip(['-n', ledgerNs, 'link', 'set', 'dev', vethLedger, 'down']);
    await ip(['-n', collectorNs, 'link', 'set', 'dev', vethCollector, 'down']);
  } catch (err) {
    await teardownNetns(layout, options).catch(() => {});
    throw err;
  }
}

/** Deletes both namespaces (the veth pair goes with them). Idempotent: a missing namespace is not an error. */
export async function teardownNetns(layout: NetnsLayout, options: { ipPath?: string } = {}): Promise<void> {
  validateNetnsLayout(layout);
  const ip: IpRunner = ipRunner(options.ipPath);
  const existing = await listNetns(ip);
  const errors: unknown[] = [];
  for (const ns of [layout.ledgerNs, layout.collectorNs]) {
    if (!existing.has(ns)) continue;
    await ip(['netns', 'del', ns]).catch((err: unknown) => errors.push(err));
  }
  if (errors.length > 0) throw new AirgapError('DRIVER_FAILED', 'could not delete the namespaces', { cause: errors });
}

async function listNetns(ip: IpRunner): Promise<Set<string>> {
  const out = await ip(['-j', 'netns', 'list']);
  const parsed: unknown = out.trim() === '' ? [] : JSON.parse(out);
  const names = Array.isArray(parsed) ? parsed.map((e: { name?: unknown }) => e.name).filter((n): n is string => typeof n === 'string') : [];
  return new Set(names);
}
