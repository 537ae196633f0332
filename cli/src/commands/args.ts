import { InvalidArgumentError } from 'commander';

/** A commander parser for a bounded integer flag, with an error that names the flag. */
export function intArg(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`${flag} must be a whole number, got "${value.slice(0, 40)}"`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${flag} must be between ${min} and ${max}, got ${n}`);
    return n;
  };
}

/** host:port on loopback-style addresses. */
export function endpointArg(flag: string): (value: string) => { host: string; port: number } {
  return (value) => {
    const i = value.lastIndexOf(':');
    const port = Number(value.slice(i + 1));
    if (i <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new InvalidArgumentError(`${flag} must be host:port, got "${value.slice(0, 60)}"`);
    }
    return { host: value.slice(0, i), port };
  };
}
