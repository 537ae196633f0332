// Finds DL/T 645-2007 frames in a byte stream that arrives in arbitrary chunks. Pure: no I/O.
// FEH wake-up bytes (§5.3.1) and line noise are skipped; a candidate that fails its checksum (§5.2.6) or any
// other check gives up only its first 68H, so a real frame that starts inside it is still found.
import { Dlt645Error } from './errors.js';
import { MAX_DATA_LENGTH, MIN_FRAME_LENGTH, PREAMBLE, START, parseFrame, type Dlt645Frame } from './frame.js';

const MAX_BUFFER = 4 * (MIN_FRAME_LENGTH + MAX_DATA_LENGTH);

type Candidate = { kind: 'frame'; frame: Dlt645Frame; length: number } | { kind: 'bad'; code: string } | { kind: 'partial' };

export class Dlt645Framer {
  private buf = new Uint8Array(0);
  /** Complete candidates whose checksum did not match. */
  checksumErrors = 0;
  /** Complete candidates rejected for another reason (second 68H, L, end character, address). */
  malformed = 0;
  /** Bytes dropped while resynchronising (wake-up FEH bytes are not counted). */
  discardedBytes = 0;

  /** Adds a chunk; returns every frame it completes, in order. */
  push(chunk: Uint8Array): Dlt645Frame[] {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    this.buf = joined;
    if (this.buf.length > MAX_BUFFER) this.drop(this.buf.length - MAX_BUFFER);
    const out: Dlt645Frame[] = [];
    for (;;) {
      const start = this.buf.indexOf(START);
      if (start < 0) {
        this.drop(this.buf.length);
        return out;
      }
      this.drop(start);
      const c = this.candidate(0);
      if (c.kind === 'frame') {
        out.push(c.frame);
        this.buf = this.buf.subarray(c.length);
      } else if (c.kind === 'bad') {
        if (c.code === 'CHECKSUM') this.checksumErrors++;
        else this.malformed++;
        this.drop(1);
      } else {
        // An incomplete candidate: wait for more bytes, unless a whole valid frame already follows it
        // (the candidate was noise that happened to contain 68H).
        const later = this.laterFrame();
        if (later < 0) return out;
        this.drop(later);
      }
    }
  }

  /** Forgets buffered bytes (before a new request: anything earlier is stale). */
  reset(): void {
    this.buf = new Uint8Array(0);
  }

  get buffered(): number {
    return this.buf.length;
  }

  private candidate(at: number): Candidate {
    const b = this.buf;
    if (b.length - at < 10) return { kind: 'partial' }; // L is byte 9
    if (b[at + 7] !== START) return { kind: 'bad', code: 'BAD_START' };
    const length = b[at + 9]!;
    if (length > MAX_DATA_LENGTH) return { kind: 'bad', code: 'LENGTH' };
    const total = MIN_FRAME_LENGTH + length;
    if (b.length - at < total) return { kind: 'partial' };
    try {
      return { kind: 'frame', frame: parseFrame(b.subarray(at, at + total)), length: total };
    } catch (err) {
      return { kind: 'bad', code: err instanceof Dlt645Error ? err.code : 'MALFORMED' };
    }
  }

  private laterFrame(): number {
    for (let i = this.buf.indexOf(START, 1); i > 0; i = this.buf.indexOf(START, i + 1)) {
      if (this.candidate(i).kind === 'frame') return i;
    }
    return -1;
  }

  private drop(n: number): void {
    for (let i = 0; i < n; i++) if (this.buf[i] !== PREAMBLE) this.discardedBytes++;
    this.buf = this.buf.subarray(n);
  }
}
