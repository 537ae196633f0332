/** Where the collector reaches the ledger API while the gap is bridged. */
export interface Endpoint {
  host: string;
  port: number;
}

/** Bytes carried across the gap in the current (or last) window. */
export interface Traffic {
  /** Collector → ledger. */
  toTarget: number;
  /** Ledger → collector. */
  fromTarget: number;
}

/**
 * An isolation mechanism the controller drives. open() bridges the collector to the ledger API and
 * reports where the collector should connect; close() cuts the bridge, including anything in flight.
 * The controller calls them strictly alternately. Drivers: `relay` (userspace TCP relay), `netns` (veth
 * pair up only during a window), `gpio` (physical relay on a GPIO line).
 */
export interface AirgapDriver {
  readonly name: string;
  open(): Promise<Endpoint>;
  close(): Promise<void>;
  isOpen(): boolean;
  /** Byte counts since the last open(), if the driver can count them. */
  traffic?(): Traffic;
  /** Called once at controller start, before the control port listens: force the closed state (fail-safe). */
  init?(): Promise<void>;
  /** Called once at controller shutdown, after the last window closed: leave the gap closed, release resources. */
  dispose?(): Promise<void>;
}
