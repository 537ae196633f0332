import { AirgapError } from './errors.js';

/** Longest control line, in bytes, not counting its "\n" (README §Control protocol). */
export const MAX_LINE_BYTES = 4096;

const LF = 0x0a;
const CR = 0x0d;

export interface FramedLines {
  /** Complete lines, without "\n" or a trailing "\r", in order. */
  lines: Uint8Array[];
  /** Set once a line exceeded the limit; lines before it are still returned, nothing after it ever is. */
  error?: AirgapError;
}

/**
 * Incremental newline framer for the control stream: feed it chunks as they arrive, get back complete
 * lines. It never holds more than maxLineBytes (+1 for a possible "\r") of an unfinished line: a line
 * that grows past the limit yields AirgapError LINE_TOO_LONG, after which the framer is poisoned and
 * returns that error for all further input (the stream is out of sync; the caller closes it).
 */
export class LineFramer {
  readonly maxLineBytes: number;
  #pending: Uint8Array = new Uint8Array(0);
  #poisoned = false;

  constructor(maxLineBytes: number = MAX_LINE_BYTES) {
    this.maxLineBytes = maxLineBytes;
  }

  push(chunk: Uint8Array): FramedLines {
    if (this.#poisoned) return { lines: [], error: this.#tooLong() };
    const data = this.#pending.length === 0 ? chunk : concat(this.#pending, chunk);
    const lines: Uint8Array[] = [];
    let start = 0;
    for (let i = data.indexOf(LF); i !== -1; i = data.indexOf(LF, start)) {
      let end = i;
      if (end > start && data[end - 1] === CR) end -= 1;
      if (end - start > this.maxLineBytes) return this.#poison(lines);
      lines.push(data.slice(start, end));
      start = i + 1;
    }
    // An unfinished line is over the limit once it is longer than the limit plus a trailing "\r" of a CRLF.
    const rest = data.length - start;
    if (rest > this.maxLineBytes + 1 || (rest === this.maxLineBytes + 1 && data[data.length - 1] !== CR)) {
      return this.#poison(lines);
    }
    this.#pending = data.slice(start);
    return { lines };
  }

  /** Bytes of an unfinished line currently held. */
  get pendingBytes(): number {
    return this.#pending.length;
  }

  #poison(lines: Uint8Array[]): FramedLines {
    this.#poisoned = true;
    this.#pending = new Uint8Array(0);
    return { lines, error: this.#tooLong() };
  }

  #tooLong(): AirgapError {
    return new AirgapError('LINE_TOO_LONG', `control line longer than ${this.maxLineBytes} bytes`);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
