// Finds HDLC frames in a byte stream (IEC 62056-46 §6.4.1). The line has no byte stuffing, so a 0x7E may
// occur inside a frame: a frame is a flag, a header that passes its checks, as many bytes as the length
// sub-field says, and a closing flag — which may also open the next frame (IEC 62056-46 §6.4.1.2).
// Anything else is dropped one byte at a time and the search resumes at the next flag. Pure: no I/O, no timers.
import { decodeControl } from './control.js';
import { DlmsError } from './errors.js';
import { FLAG, parseFrame, readHeader, type HdlcFrame } from './frame.js';

export interface ReceivedFrame {
  /** The frame exactly as received, both flags included. */
  bytes: Uint8Array;
  frame: HdlcFrame;
}

export interface FramerStats {
  /** Frames delivered. */
  frames: number;
  /** Candidates that had a good header but a bad FCS. */
  badFcs: number;
  /** Candidates refused before the FCS: bad format, length, address, HCS, control or closing flag. */
  badHeader: number;
  /** Bytes dropped: garbage between frames and the opening flags of refused candidates. */
  droppedBytes: number;
}

export class HdlcFramer {
  private buf = new Uint8Array(0);
  private readonly counters: FramerStats = { frames: 0, badFcs: 0, badHeader: 0, droppedBytes: 0 };

  /** Adds received bytes; returns the frames they complete, in order. */
  push(chunk: Uint8Array): ReceivedFrame[] {
    if (chunk.length > 0) {
      const next = new Uint8Array(this.buf.length + chunk.length);
      next.set(this.buf);
      next.set(chunk, this.buf.length);
      this.buf = next;
    }
    // The buffer stays bounded: a candidate waits for at most 2 + 2047 bytes before it is judged.
    return this.scan();
  }

  /**
   * Gives up the frame candidate that is waiting for more bytes (its opening flag is dropped) and looks
   * again at what follows it. Call it when an answer is overdue: a false header in trailing garbage (which
   * passed its HCS by chance) must not hold back the real frames behind it.
   */
  resync(): ReceivedFrame[] {
    const i = this.buf.indexOf(FLAG);
    if (i < 0) {
      this.drop(this.buf.length);
      return [];
    }
    this.drop(i + 1);
    return this.scan();
  }

  /** Drops everything buffered (e.g. after closing the port). */
  reset(): void {
    this.drop(this.buf.length);
  }

  get buffered(): number {
    return this.buf.length;
  }

  get stats(): Readonly<FramerStats> {
    return { ...this.counters };
  }

  private drop(n: number): void {
    this.counters.droppedBytes += n;
    this.buf = this.buf.subarray(n);
  }

  private scan(): ReceivedFrame[] {
    const out: ReceivedFrame[] = [];
    for (;;) {
      const i = this.buf.indexOf(FLAG);
      if (i < 0) {
        this.drop(this.buf.length); // no flag: nothing here can start a frame
        return out;
      }
      if (i > 0) this.drop(i);
      // Consecutive flags: the earlier ones close a previous frame or fill the line; keep only the last.
      let f = 0;
      while (f + 1 < this.buf.length && this.buf[f + 1] === FLAG) f++;
      if (f > 0) this.buf = this.buf.subarray(f);
      const verdict = this.candidate();
      if (verdict === 'more') return out;
      if (verdict === 'reject') {
        this.drop(1); // the flag opened no frame; look for the next one
        continue;
      }
      out.push(verdict);
      this.counters.frames++;
      // Keep the closing flag: it may be the opening flag of the next frame (IEC 62056-46 §6.4.1.2).
      this.buf = this.buf.subarray(verdict.bytes.length - 1);
    }
  }

  /** Judges the candidate that opens at buf[0] (a flag). */
  private candidate(): ReceivedFrame | 'more' | 'reject' {
    const b = this.buf;
    let total: number;
    try {
      const layout = readHeader(b, 1, b.length);
      if (layout === 'more') return 'more';
      decodeControl(b[1 + layout.control]!); // refuse unknown control fields before waiting for the rest
      total = layout.length + 2;
    } catch (err) {
      if (!(err instanceof DlmsError)) throw err;
      this.counters.badHeader++;
      return 'reject';
    }
    if (b.length < total) return 'more';
    if (b[total - 1] !== FLAG) {
      this.counters.badHeader++; // the length sub-field does not lead to a closing flag
      return 'reject';
    }
    const bytes = b.slice(0, total);
    try {
      return { bytes, frame: parseFrame(bytes) };
    } catch (err) {
      if (!(err instanceof DlmsError)) throw err;
      if (err.code === 'FCS') this.counters.badFcs++;
      else this.counters.badHeader++;
      return 'reject';
    }
  }
}
