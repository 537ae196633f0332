// Takes DL/T 645-2007 request frames off a byte stream that arrives in arbitrary chunks. Wake-up FEH bytes
// (§5.3.1) and noise are skipped; a candidate with a bad checksum (§5.2.6) is dropped — never answered —
// and the search goes on from the byte after its 68H.
import { SimulatorError } from '../errors.js';
import { DLT645_MAX_DATA, DLT645_MIN_FRAME, DLT645_START, parseDlt645Frame, type Dlt645WireFrame } from './codec.js';

const MAX_BUFFER = 1024;

export class Dlt645RequestFramer {
  private buf = Buffer.alloc(0);
  checksumErrors = 0;
  /** Candidates that failed another structural check. */
  malformed = 0;
  /** Bytes skipped that were not FEH wake-up bytes. */
  discardedBytes = 0;

  push(chunk: Uint8Array): Dlt645WireFrame[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    if (this.buf.length > MAX_BUFFER) this.skip(this.buf.length - MAX_BUFFER);
    const frames: Dlt645WireFrame[] = [];
    while (this.buf.length > 0) {
      const at = this.buf.indexOf(DLT645_START);
      if (at < 0) {
        this.skip(this.buf.length);
        break;
      }
      this.skip(at);
      if (this.buf.length < 10) break; // L not here yet
      const len = this.buf[9]!;
      if (this.buf[7] !== DLT645_START || len > DLT645_MAX_DATA) {
        this.malformed++;
        this.skip(1);
        continue;
      }
      if (this.buf.length < DLT645_MIN_FRAME + len) break; // the rest is on its way
      try {
        frames.push(parseDlt645Frame(this.buf.subarray(0, DLT645_MIN_FRAME + len)));
        this.buf = this.buf.subarray(DLT645_MIN_FRAME + len);
      } catch (err) {
        if (err instanceof SimulatorError && err.code === 'DLT645_CHECKSUM') this.checksumErrors++;
        else this.malformed++;
        this.skip(1);
      }
    }
    return frames;
  }

  private skip(n: number): void {
    for (let i = 0; i < n; i++) if (this.buf[i] !== 0xfe) this.discardedBytes++;
    this.buf = this.buf.subarray(n);
  }
}
