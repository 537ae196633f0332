// The control protocol (README §Control protocol): newline-delimited JSON (RFC 8259) over a loopback
// TCP connection, one request per line, each line at most 4096 bytes. Everything here is pure: parse
// functions take one line's bytes and return a value or throw AirgapError.
import { z } from 'zod';
import { describeIssues } from './config.js';
import { AirgapError } from './errors.js';

export const OPS = ['open', 'close', 'status'] as const;
export type Op = (typeof OPS)[number];

/** Why a window closed, as reported in the "closed" event and the audit log's closedBy. */
export const CLOSE_REASONS = ['requested', 'max-duration', 'client-gone', 'shutdown'] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

/** Longest error message sent back; input fragments quoted in messages are cut to fit. */
const MAX_MESSAGE_CHARS = 300;

// C0 controls and DEL: a reason goes into the audit log and logs verbatim, so keep it printable.
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

const reason = z
  .string()
  .min(1)
  .max(200)
  .refine((s) => s.trim().length > 0, { message: 'must not be blank' })
  .refine((s) => !CONTROL_CHARS.test(s), { message: 'must not contain control characters' });

const requestSchemas = {
  open: z.strictObject({
    op: z.literal('open'),
    reason,
    maxMs: z.number().int().min(1).optional(),
    /** README §Policy: an operator's request, granted outside the schedule. */
    operator: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1..64 of A-Z a-z 0-9 . _ -').optional(),
  }),
  close: z.strictObject({ op: z.literal('close') }),
  status: z.strictObject({ op: z.literal('status') }),
} as const;

export type OpenRequest = z.output<typeof requestSchemas.open>;
export type ControlRequest = OpenRequest | z.output<typeof requestSchemas.close> | z.output<typeof requestSchemas.status>;

function isOp(value: string): value is Op {
  return (OPS as readonly string[]).includes(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Cuts a message to MAX_MESSAGE_CHARS. */
export function clip(message: string): string {
  return message.length <= MAX_MESSAGE_CHARS ? message : `${message.slice(0, MAX_MESSAGE_CHARS - 1)}…`;
}

/** Decodes one line as strict UTF-8 JSON (RFC 8259 §8.1), throwing INVALID_JSON. */
export function parseJsonLine(line: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(line);
  } catch (cause) {
    throw new AirgapError('INVALID_JSON', 'line is not valid UTF-8', { cause });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new AirgapError('INVALID_JSON', clip(`line is not valid JSON: ${detail}`), { cause });
  }
}

/** Parses one control request line. Throws INVALID_JSON, INVALID_REQUEST or UNKNOWN_OP naming the problem. */
export function parseRequest(line: Uint8Array): ControlRequest {
  const value = parseJsonLine(line);
  if (!isRecord(value)) throw new AirgapError('INVALID_REQUEST', 'request must be a JSON object');
  const op = value['op'];
  if (op === undefined) throw new AirgapError('INVALID_REQUEST', 'request has no "op" field');
  if (typeof op !== 'string') throw new AirgapError('INVALID_REQUEST', '"op" must be a string');
  if (!isOp(op)) {
    const shown = JSON.stringify(op.length > 40 ? `${op.slice(0, 40)}…` : op);
    throw new AirgapError('UNKNOWN_OP', `unknown op ${shown}; expected one of ${OPS.join(', ')}`);
  }
  const result = requestSchemas[op].safeParse(value);
  if (!result.success) {
    throw new AirgapError('INVALID_REQUEST', clip(`invalid "${op}" request: ${describeIssues(result.error)}`), {
      cause: result.error,
    });
  }
  return result.data;
}

/** One protocol message as a line: JSON plus "\n". */
export function encodeLine(message: object): string {
  return `${JSON.stringify(message)}\n`;
}

export function errorResponse(error: AirgapError): object {
  return { ok: false, error: { code: error.code, message: error.message } };
}

// --- Messages from the controller, as the client reads them. Unknown extra fields are ignored. ---

const endpoint = z.object({ host: z.string(), port: z.number().int().min(1).max(65535) });
const isoUtc = z.iso.datetime();

export const OpenResponseSchema = z.object({
  ok: z.literal(true),
  windowId: z.uuid(),
  relay: endpoint,
  openedAt: isoUtc,
  closesAt: isoUtc,
});
export const CloseResponseSchema = z.object({ ok: z.literal(true), closed: z.literal(true) });
export const ErrorResponseSchema = z.object({
  ok: z.literal(false),
  error: z.object({ code: z.string(), message: z.string() }),
});
export const ClosedEventSchema = z.object({
  event: z.literal('closed'),
  windowId: z.string(),
  reason: z.enum(CLOSE_REASONS),
});

export type OpenResponse = z.output<typeof OpenResponseSchema>;
export type ClosedEvent = z.output<typeof ClosedEventSchema>;

/** Whether a parsed controller line is an event (pushed) rather than a response (answering a request). */
export function isEventMessage(value: unknown): value is Record<string, unknown> {
  return isRecord(value) && 'event' in value;
}
