import { isIPv4, isIPv6 } from 'node:net';

/**
 * True for an IP literal in the loopback range: 127.0.0.0/8 (RFC 1122 §3.2.1.3 (g)), ::1 (RFC 4291 §2.5.3)
 * or an IPv4-mapped 127/8 address (RFC 4291 §2.5.5.2). Host names, "localhost" included, are not accepted:
 * what they resolve to is not ours to decide.
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  if (isIPv4(address)) return address.split('.')[0] === '127';
  if (!isIPv6(address)) return false;
  const lower = address.toLowerCase();
  if (lower === '::1' || lower === '0:0:0:0:0:0:0:1') return true;
  const mapped = '::ffff:';
  return lower.startsWith(mapped) && isIPv4(lower.slice(mapped.length)) && lower.slice(mapped.length).split('.')[0] === '127';
}

/** "host:port", with IPv6 literals in brackets (RFC 3986 §3.2.2). */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
