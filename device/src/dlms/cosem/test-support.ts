// Test support only (not exported): the captured sessions as APDUs, a scripted replay server, and a tiny
// in-memory COSEM server on top of the HDLC MiniServer.
import fc from 'fast-check';
import { DlmsError } from '../errors.js';
import { parseFrame } from '../hdlc/frame.js';
import { sessions, toHex, type CapturedSession } from '../hdlc/fixtures.js';
import { wire } from '../hdlc/mock-server.js';
import type { HdlcTransport } from '../hdlc/link.js';
import { encodeData, type Data } from '../axdr/index.js';
import { APPLICATION_CONTEXT, parseAarq } from './acse.js';
import { concat, encodeOid, tlv } from './ber.js';
import { encodeGetResponseBlock, encodeGetResponseNormal, parseGetRequest, type GetRequest } from './get.js';
import { encodeInitiateResponse } from './initiate.js';
import type { ConformanceBit } from './conformance.js';
import { formatObis } from './obis.js';

// What the captured clients proposed (conformance 0x401E5D and 0x20405F, max PDU 0xFFFF).
export const GURUX_CONFORMANCE: ConformanceBit[] = [
  'general-protection', 'block-transfer-with-get-or-read', 'block-transfer-with-set-or-write', 'block-transfer-with-action',
  'multiple-references', 'access', 'get', 'set', 'selective-access', 'action',
];
export const PWITAB_CONFORMANCE: ConformanceBit[] = [
  'general-block-transfer', 'priority-mgmt-supported', 'access', 'get', 'set', 'selective-access', 'event-notification', 'action',
];

export interface CapturedApdu {
  dir: 'client->server' | 'server->client';
  /** The reassembled information field, LLC header included. */
  info: Uint8Array;
  /** The APDU, LLC header removed. */
  apdu: Uint8Array;
}

export const session = (name: string): CapturedSession => {
  const s = sessions.find((x) => x.name.includes(name));
  if (!s) throw new Error(`no captured session ${name}`);
  return s;
};

/** The APDUs of a session, each reassembled from its I frames (segments). */
export function apdus(s: CapturedSession): CapturedApdu[] {
  const out: CapturedApdu[] = [];
  let parts: number[] = [];
  for (const f of s.frames) {
    const frame = parseFrame(f.bytes);
    if (frame.control.kind !== 'I') continue;
    parts.push(...frame.information!);
    if (frame.format.segmented) continue;
    const info = Uint8Array.from(parts);
    out.push({ dir: f.dir, info, apdu: info.subarray(3) });
    parts = [];
  }
  return out;
}

export const apduHex = (s: CapturedSession, dir: CapturedApdu['dir']) => apdus(s).filter((a) => a.dir === dir).map((a) => toHex(a.apdu));

/**
 * A server that checks each client frame against the capture and answers with the captured server
 * frames that follow it; `tamper` may replace those answers.
 */
export function replay(s: CapturedSession, chunk = 0, tamper?: (replies: Uint8Array[], n: number) => Uint8Array[]) {
  let next = 0;
  let n = 0;
  const mismatches: string[] = [];
  const { transport, written } = wire((r) => {
    const expected = s.frames[next];
    if (!expected || expected.dir !== 'client->server' || toHex(expected.bytes) !== toHex(r.bytes)) {
      mismatches.push(`frame ${next}: got ${toHex(r.bytes)}, captured ${expected ? toHex(expected.bytes) : 'nothing'}`);
      return [];
    }
    next++;
    const replies: Uint8Array[] = [];
    while (s.frames[next]?.dir === 'server->client') replies.push(s.frames[next++]!.bytes);
    return tamper ? tamper(replies, n++) : replies;
  }, chunk);
  return { transport: transport as HdlcTransport, written, mismatches, played: () => next };
}

// ---- a tiny COSEM server (LN, no security) for the client tests -------------------------------------------

export type Attribute = (req: Extract<GetRequest, { kind: 'normal' }>) => Data | { accessResult: number };

export interface CosemServerOptions {
  /** Attributes by "classId/A-B:C.D.E*F/attributeId". */
  attributes: Record<string, Attribute>;
  /** Answers longer than this go out in blocks of this size (GET with datablock); default 200. */
  blockSize?: number;
  password?: string;
  maxPdu?: number;
  /** Replaces the server's answer APDU (return undefined to keep it). */
  override?: (request: Uint8Array, answer: Uint8Array) => Uint8Array | undefined;
}

export function aare(result: number, diagnostic: number, userInformation?: Uint8Array): Uint8Array {
  return tlv(0x61, concat([
    tlv(0xa1, tlv(0x06, encodeOid(APPLICATION_CONTEXT.lnNoCiphering))),
    tlv(0xa2, tlv(0x02, Uint8Array.of(result))),
    tlv(0xa3, tlv(0xa1, tlv(0x02, Uint8Array.of(diagnostic)))),
    ...(userInformation ? [tlv(0xbe, tlv(0x04, userInformation))] : []),
  ]));
}

/** The `answer` function for MiniServer: takes and returns information fields (LLC included). */
export function cosemServer(o: CosemServerOptions) {
  let blocks: Uint8Array[] = [];
  let sent = 0;
  const log: Uint8Array[] = [];
  const handle = (apdu: Uint8Array): Uint8Array => {
    if (apdu[0] === 0x60) {
      const q = parseAarq(apdu);
      const ok = o.password === undefined || (q.password !== undefined && Buffer.from(q.password).toString() === o.password);
      const ir = encodeInitiateResponse({ dlmsVersion: 6, conformance: [...q.initiate.conformance], maxReceivePduSize: o.maxPdu ?? 1024, vaaName: 7 });
      return ok ? aare(0, 0, ir) : aare(1, 13, ir);
    }
    if (apdu[0] === 0x62) return Uint8Array.of(0x63, 0x03, 0x80, 0x01, 0x00);
    const req = parseGetRequest(apdu);
    const iip = req.invokeIdAndPriority;
    if (req.kind === 'next') {
      const raw = blocks[sent];
      if (req.blockNumber !== sent || !raw) return encodeGetResponseNormal(iip, { accessResult: 16 }); // no-long-get-in-progress
      sent++;
      return encodeGetResponseBlock(iip, sent === blocks.length, sent, raw);
    }
    const { classId, instance, attributeId } = req.descriptor;
    const attribute = o.attributes[`${classId}/${formatObis(instance)}/${attributeId}`];
    const result = attribute ? attribute(req) : { accessResult: 4 }; // object-undefined
    if ('accessResult' in result) return encodeGetResponseNormal(iip, result);
    const encoded = encodeData(result);
    const size = o.blockSize ?? 200;
    if (encoded.length <= size) return encodeGetResponseNormal(iip, { data: result });
    blocks = [];
    for (let i = 0; i < encoded.length; i += size) blocks.push(encoded.subarray(i, i + size));
    sent = 1;
    return encodeGetResponseBlock(iip, false, 1, blocks[0]!);
  };
  const answer = (info: Uint8Array): Uint8Array => {
    const request = info.subarray(3);
    log.push(request.slice());
    const a = handle(request);
    return concat([Uint8Array.of(0xe6, 0xe7, 0x00), o.override?.(request, a) ?? a]);
  };
  return { answer, log };
}

/**
 * Property used by the codec tests: arbitrary bytes, single-byte corruptions and truncations of captured
 * APDUs (plus any extra generators) fed to every parser give a value or a DlmsError — nothing else escapes.
 */
export function assertOnlyDlmsErrors(
  captured: Uint8Array[],
  parsers: ((b: Uint8Array) => unknown)[],
  extra: fc.Arbitrary<Uint8Array>[] = [],
  numRuns = 3000,
): void {
  const hostile = fc.oneof(
    fc.uint8Array({ maxLength: 80 }),
    ...extra,
    fc.tuple(fc.constantFrom(...captured), fc.nat(), fc.integer({ min: 1, max: 255 })).map(([w, at, x]) => {
      const b = w.slice();
      b[at % b.length]! ^= x;
      return b;
    }),
    fc.tuple(fc.constantFrom(...captured), fc.nat()).map(([w, n]) => w.subarray(0, n % (w.length + 1))),
  );
  fc.assert(
    fc.property(hostile, (b) => {
      for (const parse of parsers) {
        try {
          parse(b);
        } catch (err) {
          if (!(err instanceof DlmsError)) throw err;
        }
      }
    }),
    { numRuns },
  );
}
