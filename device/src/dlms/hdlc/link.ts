// The client (primary station) side of an IEC 62056-46 HDLC link in normal response mode: SNRM/UA with
// parameter negotiation, I frames with N(S)/N(R) modulo 8, segmentation of long information fields in both
// directions, RR polling, DISC, and time-out recovery by polling. Window size 1 (stop-and-wait): every frame
// we send carries P=1 and is answered by exactly one frame with F=1 (IEC 62056-46 §6.4.4).
import { clientAddress, formatAddress, sameAddress, type HdlcAddress } from './address.js';
import type { HdlcControl } from './control.js';
import { DlmsError } from './errors.js';
import { encodeFrame, type HdlcFrame } from './frame.js';
import { HdlcFramer, type FramerStats, type ReceivedFrame } from './framer.js';
import { encodeParameters, isDefault, negotiate, parametersOf, parseParameters, type HdlcParameters } from './snrm.js';

/** A byte pipe to the meter, e.g. a serial port. */
export interface HdlcTransport {
  write(bytes: Uint8Array): void;
  /** Registers the receiver; may return a function that unregisters it. */
  onData(cb: (bytes: Uint8Array) => void): void | (() => void);
}

export interface HdlcLinkOptions {
  /** Client SAP (0x10 public client, …) or a one-byte client address. */
  client: number | HdlcAddress;
  /** Server address, e.g. serverAddress(1) or serverAddress(1, 0x11). */
  server: HdlcAddress;
  /** Information field lengths proposed in SNRM; default 128 each. Windows are always 1. */
  maxInfoTx?: number;
  maxInfoRx?: number;
  /** How long to wait for each answer before polling or repeating; default 2000 ms. */
  timeoutMs?: number;
  /** Extra attempts after a time-out or a negative answer; default 3. */
  retries?: number;
  /** Largest reassembled answer accepted, in bytes; default 1 MiB. A server that never clears the S bit
   *  would otherwise keep the link reading forever. */
  maxAnswerBytes?: number;
}

export type LinkState = 'disconnected' | 'connected' | 'closed';

export interface LinkStats extends FramerStats {
  /** Good frames that were not for this link or not expected at that moment. */
  ignored: number;
}

type Step<T> = { done: T } | { write: Uint8Array } | undefined;
interface Waiter {
  onFrame(frame: HdlcFrame): void;
  fail(err: DlmsError): void;
}

export class HdlcLink {
  private readonly client: HdlcAddress;
  private readonly server: HdlcAddress;
  private readonly proposal: HdlcParameters;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly maxAnswerBytes: number;
  private readonly framer = new HdlcFramer();
  private readonly unsubscribe: (() => void) | undefined;
  private waiter: Waiter | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private negotiated: HdlcParameters;
  private vs = 0; // V(S): N(S) of our next I frame
  private vr = 0; // V(R): N(S) we expect from the server next
  private ignoredFrames = 0;
  private linkState: LinkState = 'disconnected';

  constructor(private readonly transport: HdlcTransport, options: HdlcLinkOptions) {
    this.client = typeof options.client === 'number' ? clientAddress(options.client) : options.client;
    if (this.client.size !== 1) throw new DlmsError('ADDRESS', 'a client address is one byte (IEC 62056-46 §6.4.2.1)');
    this.server = options.server;
    this.proposal = parametersOf({ maxInfoTx: options.maxInfoTx ?? 128, maxInfoRx: options.maxInfoRx ?? 128 });
    this.negotiated = { ...this.proposal };
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.retries = options.retries ?? 3;
    this.maxAnswerBytes = options.maxAnswerBytes ?? 1 << 20;
    const off = transport.onData((chunk) => {
      for (const r of this.framer.push(chunk)) this.dispatch(r);
    });
    this.unsubscribe = typeof off === 'function' ? off : undefined;
  }

  get state(): LinkState {
    return this.linkState;
  }

  /** The parameters in force (the client's view), after connect(). */
  get parameters(): Readonly<HdlcParameters> {
    return { ...this.negotiated };
  }

  get stats(): LinkStats {
    return { ...this.framer.stats, ignored: this.ignoredFrames };
  }

  /** SNRM → UA: sets up the link and negotiates the parameters (IEC 62056-46 §6.4.4.4.3.2). */
  connect(): Promise<HdlcParameters> {
    return this.serial(async () => {
      this.requireOpen();
      // An SNRM without information field proposes the defaults (as the captured clients send it).
      const info = isDefault(this.proposal) ? undefined : encodeParameters(this.proposal);
      const snrm = this.frame({ kind: 'SNRM', pf: true }, info);
      const ua = await this.transact(snrm, (f): Step<HdlcFrame> => {
        if (f.control.kind === 'UA') return { done: f };
        if (f.control.kind === 'DM') throw new DlmsError('REFUSED', 'the server answered SNRM with DM');
        return this.unexpected(f);
      }, () => snrm);
      this.negotiated = negotiate(this.proposal, parseParameters(ua.information));
      this.vs = 0; // ISO/IEC 13239: SNRM resets the send and receive state variables
      this.vr = 0;
      this.linkState = 'connected';
      return { ...this.negotiated };
    });
  }

  /**
   * Sends one information field (split into I frames of at most maxInfoTx bytes, S bit set on all but the
   * last) and returns the server's answer, reassembled from its segments (each asked for with RR).
   */
  send(info: Uint8Array): Promise<Uint8Array> {
    return this.serial(async () => {
      this.requireOpen();
      if (this.linkState !== 'connected') throw new DlmsError('STATE', 'send before connect');
      if (info.length === 0) throw new DlmsError('LENGTH', 'empty information field');
      const max = this.negotiated.maxInfoTx;
      let answer: HdlcFrame | undefined;
      for (let off = 0; off < info.length; off += max) {
        const last = off + max >= info.length;
        const segment = this.frame({ kind: 'I', pf: true, ns: this.vs, nr: this.vr }, info.subarray(off, off + max), !last);
        const next = (this.vs + 1) % 8;
        answer = await this.transact(segment, (f): Step<HdlcFrame | undefined> => {
          const c = f.control;
          if (c.kind === 'RR' && c.nr === next) return { done: undefined }; // received (IEC 62056-46 §6.4.4)
          if (c.kind === 'RR' && c.nr === this.vs) return { write: segment }; // not received: send it again
          if (last && c.kind === 'I' && c.nr === next) return { done: f }; // received and answered
          return this.unexpected(f);
        }, () => this.rr());
        this.vs = next;
      }
      const parts: Uint8Array[] = [];
      let received = 0;
      for (;;) {
        if (answer === undefined || (answer.control.kind === 'I' && answer.control.ns !== this.vr)) {
          // Poll (RR, P=1) for the answer or its next segment (IEC 62056-46 §6.4.4, segmented transfer).
          answer = await this.transact(this.rr(), (f): Step<HdlcFrame> => {
            if (f.control.kind !== 'I') return this.unexpected(f);
            return f.control.ns === this.vr ? { done: f } : { write: this.rr() };
          }, () => this.rr());
        }
        this.vr = (this.vr + 1) % 8;
        if (answer.information) {
          received += answer.information.length;
          if (received > this.maxAnswerBytes) {
            throw new DlmsError('LIMIT', `segmented answer exceeds ${this.maxAnswerBytes} bytes; giving up on this server`);
          }
          parts.push(answer.information);
        }
        if (!answer.format.segmented) break; // IEC 62056-46 §6.4.1.3: S = 0 marks the last segment
        answer = undefined;
      }
      return concat(parts);
    });
  }

  /** DISC → UA (or DM when the server was not connected). */
  disconnect(): Promise<void> {
    return this.serial(async () => {
      this.requireOpen();
      const disc = this.frame({ kind: 'DISC', pf: true });
      await this.transact(disc, (f): Step<true> =>
        f.control.kind === 'UA' || f.control.kind === 'DM' ? { done: true } : this.unexpected(f), () => disc);
      this.linkState = 'disconnected';
    });
  }

  /** Stops listening and fails the pending call with STATE; the link cannot be used again. */
  close(): void {
    if (this.linkState === 'closed') return;
    this.linkState = 'closed';
    this.unsubscribe?.();
    this.framer.reset();
    this.waiter?.fail(new DlmsError('STATE', 'link closed'));
  }

  private requireOpen(): void {
    if (this.linkState === 'closed') throw new DlmsError('STATE', 'link closed');
  }

  /** Runs calls one after another: the link has one outstanding exchange at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private frame(control: HdlcControl, information?: Uint8Array, segmented = false): Uint8Array {
    return encodeFrame({ destination: this.server, source: this.client, control, information, segmented });
  }

  /** RR with P=1: acknowledges up to V(R) and gives the server the turn (asks for the next frame). */
  private rr(): Uint8Array {
    return this.frame({ kind: 'RR', pf: true, nr: this.vr });
  }

  /** Frames no step expects: DM and FRMR end the exchange; anything else is left for the time-out. */
  private unexpected(f: HdlcFrame): undefined {
    if (f.control.kind === 'DM') {
      this.linkState = 'disconnected';
      throw new DlmsError('REFUSED', 'the server is in disconnected mode (DM)');
    }
    if (f.control.kind === 'FRMR') {
      this.linkState = 'disconnected';
      throw new DlmsError('REFUSED', 'the server rejected a frame (FRMR)');
    }
    this.ignoredFrames++;
    return undefined;
  }

  private dispatch(r: ReceivedFrame): void {
    const f = r.frame;
    if (!sameAddress(f.destination, this.client) || !sameAddress(f.source, this.server) || !this.waiter) {
      this.ignoredFrames++;
      return;
    }
    this.waiter.onFrame(f);
  }

  /**
   * Writes `first` and feeds each answer to `step` until it is done. A time-out sends `onTimeout()` (a poll
   * or a repeat); `{ write }` from `step` sends that; either costs one of `retries` attempts.
   */
  private transact<T>(first: Uint8Array, step: (f: HdlcFrame) => Step<T>, onTimeout: () => Uint8Array): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let attempts = 0;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        if (this.waiter === waiter) this.waiter = undefined;
        settle();
      };
      const send = (bytes: Uint8Array) => {
        clearTimeout(timer);
        timer = setTimeout(expire, this.timeoutMs);
        try {
          this.transport.write(bytes);
        } catch (err) {
          finish(() => reject(new DlmsError('STATE', 'the transport failed to write', { cause: err })));
        }
      };
      const retry = (bytes: Uint8Array, why: string) => {
        if (++attempts > this.retries) {
          finish(() => reject(new DlmsError('TIMEOUT', `${why} from server ${formatAddress(this.server)} after ${attempts} attempts`)));
        } else send(bytes);
      };
      const expire = () => {
        // A false header in garbage may be holding the answer back: give it up and look again.
        for (const r of this.framer.resync()) {
          this.dispatch(r);
          if (this.waiter !== waiter) return;
        }
        retry(onTimeout(), `no answer within ${this.timeoutMs} ms`);
      };
      const waiter: Waiter = {
        onFrame: (f) => {
          let s: Step<T>;
          try {
            s = step(f);
          } catch (err) {
            finish(() => reject(err));
            return;
          }
          if (s === undefined) return;
          if ('done' in s) {
            const value = s.done;
            finish(() => resolve(value));
          } else retry(s.write, 'no acceptable answer');
        },
        fail: (err) => finish(() => reject(err)),
      };
      this.waiter = waiter;
      send(first);
    });
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
