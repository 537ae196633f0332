import type { Logger } from 'pino';
import { AirgapError } from '../errors.js';
import type { AirgapDriver, Endpoint, Traffic } from './driver.js';
import { DeadMan } from './dead-man.js';
import {
  defaultIpPath,
  ipRunner,
  isIfName,
  isNetnsName,
  linkState,
  parseIpv4Cidr,
  sameSubnet,
  type IpRunner,
  type LinkState,
} from './ip-command.js';

/** The two namespaces and the veth pair between them (README §netns). */
export interface NetnsLayout {
  /** Namespace holding the ledger's query API. */
  ledgerNs: string;
  /** Namespace the collector runs in. */
  collectorNs: string;
  /** The veth end inside ledgerNs. */
  vethLedger: string;
  /** The veth end inside collectorNs. */
  vethCollector: string;
  /** IPv4 address with prefix on vethLedger, e.g. "10.77.0.1/30". */
  ledgerAddr: string;
  /** IPv4 address with prefix on vethCollector, e.g. "10.77.0.2/30". */
  collectorAddr: string;
}

export interface NetnsDriverOptions {
  netns: NetnsLayout;
  /** The ledger API's port; its host is ledgerAddr's address unless `host` says otherwise. */
  target: { host?: string | undefined; port: number };
  log: Logger;
  /** Path of iproute2's `ip` (default /usr/sbin/ip, else `ip` on PATH). */
  ipPath?: string;
  /** How long open() waits for both ends to report carrier (default 5 s). */
  linkUpTimeoutMs?: number;
}

/** Throws CONFIG_INVALID unless every name is safe for argv and the addresses form one subnet. */
export function validateNetnsLayout(layout: NetnsLayout): void {
  const bad = (what: string): never => {
    throw new AirgapError('CONFIG_INVALID', `netns: ${what}`);
  };
  for (const key of ['ledgerNs', 'collectorNs'] as const) if (!isNetnsName(layout[key])) bad(`${key} is not a safe namespace name`);
  for (const key of ['vethLedger', 'vethCollector'] as const) if (!isIfName(layout[key])) bad(`${key} is not a safe interface name`);
  if (layout.ledgerNs === layout.collectorNs) bad('ledgerNs and collectorNs must differ');
  const ledger = parseIpv4Cidr(layout.ledgerAddr) ?? bad('ledgerAddr must be IPv4/prefix');
  const collector = parseIpv4Cidr(layout.collectorAddr) ?? bad('collectorAddr must be IPv4/prefix');
  if (!sameSubnet(ledger, collector)) bad('ledgerAddr and collectorAddr must be different hosts in one subnet');
}

/**
 * The `netns` driver: the ledger and the collector live in separate network namespaces joined by one veth
 * pair. Outside a window both ends are administratively down, so from the collector's namespace the
 * ledger's subnet has no route at all (ENETUNREACH) — the kernel, not this process, keeps them apart.
 * open() sets both ends up and waits for carrier; close() sets both down and reads `ip -j link show` back
 * to prove it. Needs CAP_NET_ADMIN over both namespaces (in practice: root). It carries no traffic itself;
 * traffic() reports the collector end's link-level byte counters for the window.
 */
export class NetnsDriver implements AirgapDriver {
  readonly name = 'netns';
  readonly #layout: NetnsLayout;
  readonly #endpoint: Endpoint;
  readonly #ip: IpRunner;
  readonly #log: Logger;
  readonly #linkUpTimeoutMs: number;
  #open = false;
  #baseline: LinkState | undefined;
  #deadMan: DeadMan | undefined;
  readonly #ipPath: string;
  #traffic: Traffic = { toTarget: 0, fromTarget: 0 };

  constructor(options: NetnsDriverOptions) {
    validateNetnsLayout(options.netns);
    this.#layout = { ...options.netns };
    const ledgerIp = parseIpv4Cidr(options.netns.ledgerAddr)?.address ?? '';
    this.#endpoint = { host: options.target.host ?? ledgerIp, port: options.target.port };
    this.#ip = ipRunner(options.ipPath);
    this.#ipPath = options.ipPath ?? defaultIpPath();
    this.#log = options.log;
    this.#linkUpTimeoutMs = options.linkUpTimeoutMs ?? 5_000;
  }

  isOpen(): boolean {
    return this.#open;
  }

  traffic(): Traffic {
    return { ...this.#traffic };
  }

  /** Fail-safe at controller start: both ends down, verified. */
  async init(): Promise<void> {
    this.#open = true; // until proven down
    await this.close();
  }

  async open(): Promise<Endpoint> {
    if (this.#open) throw new AirgapError('DRIVER_STATE', 'the veth link is already up');
    this.#open = true; // from the first `ip link set up` on, treat the gap as possibly bridged
    this.#traffic = { toTarget: 0, fromTarget: 0 };
    try {
      // README §Policy, fail-closed: if this process dies while the link is up, the watchdog takes it down
      const l = this.#layout;
      this.#deadMan = await DeadMan.arm([
        [this.#ipPath, '-n', l.ledgerNs, 'link', 'set', 'dev', l.vethLedger, 'down'],
        [this.#ipPath, '-n', l.collectorNs, 'link', 'set', 'dev', l.vethCollector, 'down'],
      ]);
      await this.#setBoth('up');
      const { vethCollector, collectorNs } = this.#layout;
      for (const deadline = Date.now() + this.#linkUpTimeoutMs; ; ) {
        const [ledger, collector] = await this.#states();
        if (ledger.adminUp && collector.adminUp && ledger.operstate === 'UP' && collector.operstate === 'UP') {
          this.#baseline = collector;
          break;
        }
        if (Date.now() > deadline) {
          throw new AirgapError('DRIVER_FAILED', `veth ${vethCollector} in ${collectorNs} did not come up (${collector.operstate})`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } catch (cause) {
      await this.close().catch((err: unknown) => this.#log.fatal({ err }, 'netns: could not take the link down after a failed open'));
      throw cause instanceof AirgapError ? cause : new AirgapError('DRIVER_FAILED', 'netns open failed', { cause });
    }
    return { ...this.#endpoint };
  }

  /** Sets both ends down (each attempted even if the other fails), then verifies both are down. */
  async close(): Promise<void> {
    if (!this.#open) return;
    const results = await Promise.allSettled([this.#set('ledger', 'down'), this.#set('collector', 'down')]);
    const [ledger, collector] = await this.#states();
    if (ledger.adminUp || collector.adminUp) {
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      throw new AirgapError('DRIVER_FAILED', 'the veth link is still up after `ip link set down`', { cause: failed?.reason });
    }
    this.#open = false;
    this.#deadMan?.disarm();
    this.#deadMan = undefined;
    if (this.#baseline) {
      // Collector end: tx is towards the ledger, rx from it (link-level bytes, ARP included).
      this.#traffic = { toTarget: collector.txBytes - this.#baseline.txBytes, fromTarget: collector.rxBytes - this.#baseline.rxBytes };
      this.#baseline = undefined;
    }
  }

  async #setBoth(state: 'up' | 'down'): Promise<void> {
    await this.#set('ledger', state);
    await this.#set('collector', state);
  }

  #set(end: 'ledger' | 'collector', state: 'up' | 'down'): Promise<string> {
    const [ns, dev] = end === 'ledger' ? [this.#layout.ledgerNs, this.#layout.vethLedger] : [this.#layout.collectorNs, this.#layout.vethCollector];
    return this.#ip(['-n', ns, 'link', 'set', 'dev', dev, state]);
  }

  #states(): Promise<[LinkState, LinkState]> {
    const { ledgerNs, collectorNs, vethLedger, vethCollector } = this.#layout;
    return Promise.all([linkState(this.#ip, ledgerNs, vethLedger), linkState(this.#ip, collectorNs, vethCollector)]);
  }
}
