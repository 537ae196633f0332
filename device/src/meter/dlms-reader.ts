// Reads a DLMS/COSEM meter over HDLC (IEC 62056-46) with a @meterseal/hardware DLMS profile: opens a session
// (SNRM/UA, then AARQ/AARE with no authentication, LLS or HLS-GMAC), reads every register's value and
// scaler_unit, the meter's identity and clock, releases (RLRQ, DISC) or keeps the association, and after
// any failure drops the session so the next read starts a fresh one.
import type { Logger } from 'pino';
import type { DlmsProfile } from '@meterseal/hardware';
import { UNIT_CODES } from '@meterseal/protocol';
import { DlmsError, type DlmsErrorCode } from '../dlms/errors.js';
import { HdlcLink } from '../dlms/hdlc/link.js';
import { clientAddress, serverAddress } from '../dlms/hdlc/address.js';
import { CosemClient, type HlsAuth } from '../dlms/cosem/client.js';
import type { InvocationCounter } from '../dlms/cosem/hls.js';
import { encodeData, type Data } from '../dlms/axdr/index.js';
import { integerOf, registerValue } from '../dlms/cosem/objects.js';
import { SerialDlmsPort, StreamDlmsPort, type DlmsPort, type DlmsStream } from '../dlms/transport.js';
import { dateTimeToEpochMs, parseDateTime } from '../dlms/axdr/datetime.js';
import type { Sample } from '../reading-builder.js';
import type { MeterClock, MeterSnapshot, MeterSource } from './source.js';

export { FileInvocationCounter } from '../dlms/invocation-counter.js';

export interface DlmsAuthOptions {
  mechanism: 'none' | 'lls' | 'hls';
  /** LLS: the meter's password for this client. */
  password?: string;
  /** HLS-GMAC: authentication key, global unicast encryption key (16 bytes each), client system title (8). */
  authenticationKey?: Uint8Array;
  encryptionKey?: Uint8Array;
  systemTitle?: Uint8Array;
  invocationCounter?: InvocationCounter;
}

export interface DlmsMeterReaderOptions {
  /** Serial device (RS-485 adapter, optical probe, pty). Exactly one of path and stream. */
  path?: string;
  stream?: DlmsStream;
  baudRate?: number;
  profile: DlmsProfile;
  /** HDLC client SAP: 16 public client, often 1 or 48 for a reading client. */
  clientAddress?: number;
  /** HDLC server address: logical device (1 = management) and, on a multi-drop line, the physical address. */
  serverLogical?: number;
  serverPhysical?: number;
  auth?: DlmsAuthOptions;
  /** Per HDLC exchange; a DLMS meter may take a while to answer. Default 2000 ms. */
  timeoutMs?: number;
  /** HDLC-level repeats per exchange (default 2); and whole-session retries after a failure (default 1). */
  linkRetries?: number;
  sessionRetries?: number;
  /** Keep the association open between scans (default false: RLRQ and DISC after every scan). */
  keepAssociation?: boolean;
  log?: Logger;
}

export interface DlmsSample extends Sample {
  name: string;
}

export interface LoadProfileRow {
  timeMs: number;
  /** The row's columns by OBIS code (clock column excluded), as the meter sent them. */
  values: Record<string, Data>;
}

/** Failures worth a fresh session: the line, the link, a garbled answer. Not authentication or access. */
const RETRYABLE = new Set<DlmsErrorCode>(['TIMEOUT', 'SHORT', 'BAD_FLAG', 'LENGTH', 'HCS', 'FCS', 'CONTROL', 'REFUSED', 'STATE', 'LLC', 'APDU']);

function identityText(d: Data): string | null {
  if (d.type === 'visible-string' || d.type === 'utf8-string') return d.value.trim() || null;
  if (d.type === 'octet-string') {
    const printable = d.value.length > 0 && d.value.every((b) => b >= 0x20 && b < 0x7f);
    return printable ? Buffer.from(d.value).toString('latin1').trim() : Buffer.from(d.value).toString('hex');
  }
  if (d.type === 'double-long-unsigned' || d.type === 'long64-unsigned') return String(integerOf(d, 'identity'));
  return null;
}

export class DlmsMeterReader implements MeterSource {
  lastReadRetried = false;
  private readonly port: DlmsPort;
  private link: HdlcLink | undefined;
  private client: CosemClient | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly o: DlmsMeterReaderOptions;
  private readonly hls: HlsAuth | undefined;

  constructor(options: DlmsMeterReaderOptions) {
    if ((options.path === undefined) === (options.stream === undefined)) throw new DlmsError('STATE', 'DlmsMeterReader needs exactly one of path and stream');
    this.o = options;
    const a = options.auth ?? { mechanism: 'none' };
    if (a.mechanism === 'lls' && !a.password) throw new DlmsError('VALUE', 'LLS needs a password');
    if (a.mechanism === 'hls') {
      if (!a.authenticationKey || !a.encryptionKey || !a.systemTitle || !a.invocationCounter) throw new DlmsError('VALUE', 'HLS needs authenticationKey, encryptionKey, systemTitle and an invocation counter');
      this.hls = { keys: { authenticationKey: a.authenticationKey, encryptionKey: a.encryptionKey }, systemTitle: a.systemTitle, invocationCounter: a.invocationCounter };
    }
    this.port = options.path !== undefined
      ? new SerialDlmsPort(options.path, options.baudRate ?? options.profile.serial.baudRate, (err) => options.log?.warn({ err: err.message }, 'meter port error'))
      : new StreamDlmsPort(options.stream!);
  }

  get associated(): boolean {
    return this.client?.association !== undefined;
  }

  open(): Promise<void> {
    return this.port.open();
  }

  async close(): Promise<void> {
    await this.serialise(async () => {
      await this.endSession(true);
      await this.port.close();
    });
  }

  async read(): Promise<DlmsSample[]> {
    return (await this.snapshot()).samples as DlmsSample[];
  }

  snapshot(): Promise<MeterSnapshot> {
    return this.serialise(() => this.withSession((c) => this.scan(c)));
  }

  /** Load profile rows between two UTC instants (range selective access on the clock column), for backfill. */
  readLoadProfile(fromMs: number, toMs: number): Promise<LoadProfileRow[]> {
    const lp = this.o.profile.loadProfile;
    if (!lp) return Promise.reject(new DlmsError('STATE', `profile ${this.o.profile.id} has no load profile`));
    return this.serialise(() =>
      this.withSession(async (c) => {
        const columns = await c.captureObjects(lp.obis);
        const clockAt = columns.findIndex((k) => k.classId === 8 && k.attributeIndex === 2);
        if (clockAt < 0) throw new DlmsError('TYPE', `load profile ${lp.obis} has no clock column`);
        const names = columns.map((k) => k.logicalName.replace(/^(\d+)-(\d+):(\d+)\.(\d+)\.(\d+)\*(\d+)$/, '$1.$2.$3.$4.$5.$6'));
        const rows = await c.getProfileBuffer(lp.obis, fromMs, toMs);
        return rows.map((row) => {
          const t = row[clockAt];
          if (!t || (t.type !== 'octet-string' && t.type !== 'date-time')) throw new DlmsError('TYPE', 'a load profile row without its time (null-data time stamps are not filled in)');
          const values: Record<string, Data> = {};
          row.forEach((d, i) => {
            if (i !== clockAt && names[i]) values[names[i]!] = d;
          });
          return { timeMs: dateTimeToEpochMs(parseDateTime(t.value)), values };
        });
      }),
    );
  }

  private serialise<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Runs `fn` in a session, opening one if needed; a retryable failure drops the session and tries again. */
  private async withSession<T>(fn: (c: CosemClient) => Promise<T>): Promise<T> {
    this.lastReadRetried = false;
    const retries = this.o.sessionRetries ?? 1;
    for (let attempt = 0; ; attempt++) {
      try {
        const client = await this.session();
        const out = await fn(client);
        if (!this.o.keepAssociation) await this.endSession(false);
        return out;
      } catch (err) {
        await this.endSession(true); // reconnect from scratch next time
        const code = err instanceof DlmsError ? err.code : undefined;
        if (attempt >= retries || code === undefined || !RETRYABLE.has(code)) throw err;
        this.lastReadRetried = true;
        this.o.log?.debug({ code, attempt }, 'DLMS session failed; reconnecting');
      }
    }
  }

  private async session(): Promise<CosemClient> {
    if (this.client?.association && this.link?.state === 'connected') return this.client;
    await this.endSession(true); // a half-open session (the meter dropped it): start clean
    if (!this.port.isOpen) await this.port.open();
    const o = this.o;
    this.link = new HdlcLink(this.port, {
      client: clientAddress(o.clientAddress ?? 16),
      server: serverAddress(o.serverLogical ?? 1, o.serverPhysical),
      timeoutMs: o.timeoutMs ?? 2000,
      retries: o.linkRetries ?? 2,
    });
    this.client = new CosemClient(this.link, { trailingBytes: 'ignore' });
    const a = o.auth ?? { mechanism: 'none' };
    await this.client.associate(a.mechanism === 'hls' ? { hls: this.hls! } : a.mechanism === 'lls' ? { password: a.password! } : {});
    return this.client;
  }

  private async endSession(broken: boolean): Promise<void> {
    const { client, link } = this;
    this.client = undefined;
    this.link = undefined;
    if (!client || !link) return;
    if (!broken) await client.release().catch((err: unknown) => this.o.log?.debug({ err: String(err) }, 'DLMS release failed'));
    else if (link.state === 'connected') await link.disconnect().catch(() => undefined);
    link.close();
  }

  private async scan(c: CosemClient): Promise<MeterSnapshot> {
    const samples: DlmsSample[] = [];
    for (const r of this.o.profile.registers) {
      const value = await c.get(r.classId, r.obis, r.attribute);
      const rv = r.classId === 1
        ? { value: integerOf(value, r.obis), scaler: r.scaler, unit: UNIT_CODES[r.unit] }
        : registerValue(value, await c.get(r.classId, r.obis, 3));
      if (rv.unit !== UNIT_CODES[r.unit]) throw new DlmsError('TYPE', `${r.obis} (${r.name}) is in unit ${rv.unit}, the profile expects ${r.unit} (${UNIT_CODES[r.unit]})`);
      samples.push({ name: r.name, obis: r.obis, value: rv.value, scaler: rv.scaler, unit: r.unit, raw: encodeData(value) });
    }
    let meterIdentity: string | null = null;
    for (const id of this.o.profile.identity) {
      const got = await c.getResult(id.classId, id.obis, id.attribute);
      if ('data' in got && (meterIdentity = identityText(got.data)) !== null) break;
    }
    const clock = await c.readClock(this.o.profile.clock.obis);
    const meterClock: MeterClock = { timeMs: BigInt(clock.epochMs), deviationMin: clock.dateTime.deviation, status: clock.dateTime.status };
    return { samples, meterIdentity, meterClock, retries: this.lastReadRetried ? 1 : 0 };
  }
}
