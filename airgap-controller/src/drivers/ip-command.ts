// Runs iproute2's `ip` for the netns driver: always execFile (no shell), arguments as an array, every name
// that reaches argv checked against a strict charset first, so nothing from a config can become an option
// or a second command.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { AirgapError } from '../errors.js';

/** Namespace names: a letter or digit first (never "-…", so never an option), then [A-Za-z0-9_.-], ≤ 64. */
export const NETNS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Interface names: the kernel allows < IFNAMSIZ (16) bytes; we allow the same safe charset, ≤ 15. */
export const IFNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

export function isNetnsName(name: string): boolean {
  return NETNS_NAME.test(name) && !name.includes('..');
}

export function isIfName(name: string): boolean {
  return IFNAME.test(name);
}

/** An IPv4 address with prefix, "10.77.0.1/30": the address and the prefix length (RFC 4632 §3.1). */
export interface Ipv4Cidr {
  address: string;
  prefix: number;
}

export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash === -1) return undefined;
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  if (!isIPv4(address) || !/^[0-9]{1,2}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix < 1 || prefix > 31) return undefined; // a point-to-point link needs room for two hosts
  return { address, prefix };
}

function ipv4ToInt(address: string): number {
  return address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

/** True when both addresses lie in the same prefix and are different hosts. */
export function sameSubnet(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  if (a.prefix !== b.prefix || a.address === b.address) return false;
  const size = 2 ** (32 - a.prefix);
  return Math.floor(ipv4ToInt(a.address) / size) === Math.floor(ipv4ToInt(b.address) / size);
}

/** /usr/sbin/ip when present, else `ip` looked up on PATH by execFile. */
export function defaultIpPath(): string {
  return existsSync('/usr/sbin/ip') ? '/usr/sbin/ip' : 'ip';
}

export interface IpRunner {
  (args: readonly string[]): Promise<string>;
}

/** execFile(ip, args) with a timeout; rejects with DRIVER_FAILED carrying ip's stderr. */
export function ipRunner(ipPath: string = defaultIpPath(), timeoutMs = 10_000): IpRunner {
  return (args) =>
    new Promise((resolve, reject) => {
      execFile(ipPath, args, { timeout: timeoutMs, maxBuffer: 1 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (err) {
          const detail = stderr.trim().split('\n')[0] ?? '';
          reject(new AirgapError('DRIVER_FAILED', `ip ${args.join(' ')} failed: ${detail || err.message}`, { cause: err }));
        } else resolve(stdout);
      });
    });
}

/** What `ip -j link show dev X` says about one link. */
export interface LinkState {
  /** Administratively up (IFF_UP in flags). */
  adminUp: boolean;
  /** RFC 2863 operational state as the kernel reports it: "UP", "DOWN", "LOWERLAYERDOWN", … */
  operstate: string;
  rxBytes: number;
  txBytes: number;
}

/** Reads one link's state in a namespace from iproute2's JSON output (`-j -s`). */
export async function linkState(ip: IpRunner, netns: string, dev: string): Promise<LinkState> {
  const out = await ip(['-j', '-s', '-n', netns, 'link', 'show', 'dev', dev]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(out);
  } catch (cause) {
    throw new AirgapError('DRIVER_FAILED', `ip -j link show ${dev} in ${netns}: not JSON`, { cause });
  }
  const link = Array.isArray(parsed) && parsed.length === 1 ? (parsed[0] as Record<string, unknown>) : undefined;
  if (!link || link.ifname !== dev || !Array.isArray(link.flags)) {
    throw new AirgapError('DRIVER_FAILED', `ip -j link show ${dev} in ${netns}: unexpected answer`);
  }
  const stats = link.stats64 as { rx?: { bytes?: unknown }; tx?: { bytes?: unknown } } | undefined;
  const bytes = (v: unknown): number => (typeof v === 'number' ? v : 0);
  return {
    adminUp: link.flags.includes('UP'),
    operstate: typeof link.operstate === 'string' ? link.operstate : 'UNKNOWN',
    rxBytes: bytes(stats?.rx?.bytes),
    txBytes: bytes(stats?.tx?.bytes),
  };
}
