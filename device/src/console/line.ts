// Hostile-input handling for the provisioning console: a bounded line framer and a tokenizer.
// Pure functions, no I/O, no RegExp (CONTRIBUTING: never build a RegExp from input; none is needed here).
import { AgentError } from '../errors.js';

export const MAX_LINE_BYTES = 4096;
const LF = 0x0a;
const CR = 0x0d;

export type FramedLine = { line: Uint8Array } | { tooLong: number };

/**
 * Splits a byte stream at '\n'. A line longer than `max` bytes is not buffered: its bytes are dropped up to
 * the next '\n', which then yields one { tooLong } (so every line sent gets exactly one answer).
 * A trailing '\r' is removed (terminal programs send CR LF).
 */
export class LineFramer {
  private parts: Uint8Array[] = [];
  private size = 0;
  private discarding = 0; // bytes dropped from the current over-long line, 0 when not discarding

  constructor(private readonly max = MAX_LINE_BYTES) {}

  push(chunk: Uint8Array): FramedLine[] {
    const out: FramedLine[] = [];
    let start = 0;
    while (start <= chunk.length) {
      const nl = chunk.indexOf(LF, start);
      const end = nl < 0 ? chunk.length : nl;
      this.take(chunk.subarray(start, end));
      if (nl < 0) break;
      out.push(this.finish());
      start = nl + 1;
    }
    return out;
  }

  private take(piece: Uint8Array): void {
    if (piece.length === 0) return;
    if (this.discarding > 0) {
      this.discarding += piece.length;
      return;
    }
    if (this.size + piece.length > this.max + 1) { // +1: room for a CR before the LF
      this.discarding = this.size + piece.length;
      this.parts = [];
      this.size = 0;
      return;
    }
    this.parts.push(piece.slice());
    this.size += piece.length;
  }

  private finish(): FramedLine {
    if (this.discarding > 0) {
      const n = this.discarding;
      this.discarding = 0;
      return { tooLong: n };
    }
    const line = new Uint8Array(this.size);
    let off = 0;
    for (const p of this.parts) {
      line.set(p, off);
      off += p.length;
    }
    this.parts = [];
    this.size = 0;
    const body = line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, line.length - 1) : line;
    if (body.length > this.max) return { tooLong: body.length };
    return { line: body };
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Decodes one line as UTF-8 text (RFC 3629), refusing malformed sequences and control characters. */
export function decodeLine(bytes: Uint8Array): string {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch (cause) {
    throw new AgentError('BAD_ENCODING', 'line is not valid UTF-8', { cause });
  }
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || (c >= 0x80 && c < 0xa0)) {
      throw new AgentError('BAD_CHARACTER', `control character 0x${c.toString(16).padStart(2, '0')} at column ${i + 1}`);
    }
  }
  return text;
}

/** Splits at runs of spaces and tabs. No quoting: no console argument contains whitespace. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (const ch of text) {
    if (ch === ' ' || ch === '\t') {
      if (cur) out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

/** A short, printable excerpt of untrusted text for error messages and the audit log. */
export function excerpt(text: string, max = 64): string {
  return text.length > max ? text.slice(0, max) + '…' : text;
}
