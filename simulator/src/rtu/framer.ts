// Incremental RTU request framer for a byte stream.
// Modbus over Serial Line V1.02 §2.5.1.1 delimits frames by 3.5 character times of silence; that gap
// cannot be observed through a pty (or most USB adapters), so frames are found by the length the
// function code implies plus a valid CRC, resynchronising one byte at a time on garbage.
import { crcValid } from './crc.js';
import { MAX_ADU, requestLength } from './frame.js';

const MIN_FRAME = 4; // unit + function + CRC(2)

export class RtuRequestFramer {
  private buf = new Uint8Array(512);
  private start = 0;
  private end = 0;
  /** Candidate frames of a known function code whose CRC did not match. */
  crcErrors = 0;
  /** Bytes dropped while resynchronising. */
  discardedBytes = 0;

  /** Feeds a chunk; returns the complete frames (CRC valid) now available, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    this.append(chunk);
    const frames: Uint8Array[] = [];
    while (this.end - this.start >= 2) {
      const len = requestLength(this.buf, this.start, this.end);
      if (len === 'more') break;
      if (len === 'unknown') {
        // Unsupported function code: its length is unknown, so the end of the data received so far stands in for
        // the 3.5-character silence. If everything buffered is one CRC-valid frame, pass it on so the server can
        // answer exception 01; otherwise the byte is garbage.
        const rest = this.end - this.start;
        if (rest >= MIN_FRAME && rest <= MAX_ADU && crcValid(this.buf, this.start, this.end)) frames.push(this.take(rest));
        else this.drop();
        continue;
      }
      if (len > MAX_ADU) {
        this.drop();
        continue;
      }
      if (this.end - this.start < len) break; // wait for the rest of the frame
      if (crcValid(this.buf, this.start, this.start + len)) {
        frames.push(this.take(len));
      } else {
        this.crcErrors++;
        this.drop();
      }
    }
    if (this.start === this.end) this.start = this.end = 0;
    return frames;
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.end - this.start;
  }

  reset(): void {
    this.start = this.end = 0;
  }

  private take(len: number): Uint8Array {
    const frame = this.buf.slice(this.start, this.start + len);
    this.start += len;
    return frame;
  }

  private drop(): void {
    this.start++;
    this.discardedBytes++;
  }

  private append(chunk: Uint8Array): void {
    if (this.end + chunk.length > this.buf.length) {
      const held = this.end - this.start;
      if (held + chunk.length <= this.buf.length) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        const next = new Uint8Array(held + chunk.length + 512);
        next.set(this.buf.subarray(this.start, this.end));
        this.buf = next;
      }
      this.start = 0;
      this.end = held;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }
}
