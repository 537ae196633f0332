// Test support only (not exported): an in-memory duplex and a tiny scripted HDLC server (secondary station).
import { serverAddress, type HdlcAddress } from './address.js';
import type { HdlcControl } from './control.js';
import { encodeFrame, type HdlcFrame } from './frame.js';
import { HdlcFramer, type ReceivedFrame } from './framer.js';
import type { HdlcTransport } from './link.js';
import { encodeParameters, parseParameters } from './snrm.js';

export interface Wire {
  transport: HdlcTransport;
  /** Every frame the client wrote, as written. */
  written: Uint8Array[];
}

/**
 * Connects a client transport to `server`: each frame the client writes is handed to it, and whatever it
 * returns is delivered back asynchronously, `chunk` bytes at a time (default: all at once). Delivery is a
 * microtask, so it always comes before any timer: only answers the server withholds can time out.
 */
export function wire(server: (r: ReceivedFrame) => Uint8Array[], chunk = 0): Wire {
  let deliver: ((b: Uint8Array) => void) | undefined;
  const framer = new HdlcFramer();
  const written: Uint8Array[] = [];
  const transport: HdlcTransport = {
    write(bytes) {
      written.push(bytes.slice());
      for (const r of framer.push(bytes)) {
        const out = Uint8Array.from(server(r).flatMap((b) => Array.from(b)));
        queueMicrotask(() => {
          for (let i = 0; i < out.length; i += chunk || out.length) deliver?.(out.subarray(i, i + (chunk || out.length)));
        });
      }
    },
    onData(cb) {
      deliver = cb;
      return () => {
        deliver = undefined;
      };
    },
  };
  return { transport, written };
}

export interface MiniServerOptions {
  answer: (request: Uint8Array) => Uint8Array;
  maxInfoTx?: number;
  maxInfoRx?: number;
  address?: HdlcAddress;
  /** Return true to lose the n-th frame from the client (0-based) without answering it. */
  loseRequest?: (frame: HdlcFrame, n: number) => boolean;
  /** Return true to lose the n-th answer of the server (it still counts as sent). */
  loseAnswer?: (n: number) => boolean;
}

/** A server in normal response mode with window 1 that segments its answers and answers each poll once. */
export class MiniServer {
  vs = 0;
  vr = 0;
  received: HdlcFrame[] = [];
  requests: Uint8Array[] = [];
  sequenceErrors = 0;
  private parts: number[] = [];
  private pending: Uint8Array[] = [];
  private last: Uint8Array | undefined;
  private tx = 128;
  private answers = 0;
  private readonly address: HdlcAddress;

  constructor(private readonly o: MiniServerOptions) {
    this.address = o.address ?? serverAddress(1);
  }

  readonly handle = (r: ReceivedFrame): Uint8Array[] => {
    const f = r.frame;
    if (this.o.loseRequest?.(f, this.received.length)) {
      this.received.push(f);
      return [];
    }
    this.received.push(f);
    const out = this.respond(f);
    return out.filter(() => !this.o.loseAnswer?.(this.answers++));
  };

  private frame(client: HdlcAddress, control: HdlcControl, information?: Uint8Array, segmented = false): Uint8Array {
    return encodeFrame({ destination: client, source: this.address, control, information, segmented });
  }

  private respond(f: HdlcFrame): Uint8Array[] {
    const c = f.control;
    const rr = () => this.frame(f.source, { kind: 'RR', pf: true, nr: this.vr });
    switch (c.kind) {
      case 'SNRM': {
        const proposal = parseParameters(f.information);
        this.tx = Math.min(this.o.maxInfoTx ?? 128, proposal.maxInfoRx);
        const rx = Math.min(this.o.maxInfoRx ?? 128, proposal.maxInfoTx);
        this.vs = this.vr = 0;
        this.parts = [];
        this.pending = [];
        return [this.frame(f.source, { kind: 'UA', pf: true }, encodeParameters({ maxInfoTx: this.tx, maxInfoRx: rx }))];
      }
      case 'DISC':
        return [this.frame(f.source, { kind: 'UA', pf: true })];
      case 'I': {
        if (c.ns !== this.vr) {
          this.sequenceErrors++;
          return [rr()];
        }
        if (c.nr !== this.vs) this.sequenceErrors++;
        this.vr = (this.vr + 1) % 8;
        this.parts.push(...f.information!);
        if (f.format.segmented) return [rr()];
        const request = Uint8Array.from(this.parts);
        this.parts = [];
        this.requests.push(request);
        const answer = this.o.answer(request);
        this.pending = [];
        for (let i = 0; i < answer.length; i += this.tx) this.pending.push(answer.subarray(i, i + this.tx));
        return [this.next(f.source)];
      }
      case 'RR':
        if (this.last && c.nr === (this.vs + 7) % 8) return [this.last]; // our last frame was lost: repeat it
        if (this.pending.length > 0 && c.nr === this.vs) return [this.next(f.source)];
        return [rr()];
      default:
        return [];
    }
  }

  private next(client: HdlcAddress): Uint8Array {
    const info = this.pending.shift()!;
    this.last = this.frame(client, { kind: 'I', pf: true, ns: this.vs, nr: this.vr }, info, this.pending.length > 0);
    this.vs = (this.vs + 1) % 8;
    return this.last;
  }
}
