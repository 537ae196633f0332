// The application layer of the simulated DLMS/COSEM meter: one association at a time (IEC 62056-5-3),
// authenticated with nothing, LLS or HLS-GMAC, serving GET (with block transfer and selective access) from
// DlmsObjects and the reply_to_HLS_authentication ACTION. Takes and returns APDUs (LLC removed).
import { timingSafeEqual } from 'node:crypto';
import { actionResponse, encodeAare, exceptionResponse, getResponseBlock, getResponseData, getResponseError, gmacF, parseAarq, parseRequest, RLRE } from './apdu.js';
import { encode, octets, type Val } from './axdr.js';
import type { DlmsSimulatorConfig } from './config.js';
import { ACCESS, type DlmsObjects } from './objects.js';

// Conformance bits the meter offers (IEC 62056-5-3 §7.3.1; bit 0 = MSB of 24): block-transfer-with-get (11),
// get (19), selective-access (21), action (23).
const SERVED_CONFORMANCE = (1 << (23 - 11)) | (1 << (23 - 19)) | (1 << (23 - 21)) | (1 << (23 - 23));
const MECHANISM = { none: 0, lls: 1, hls: 5 } as const;

export interface CosemStats {
  associations: number;
  rejected: number;
  authFailures: number;
  requests: number;
  blocks: number;
}

interface Association {
  authenticated: boolean;
  maxPdu: number;
  clientTitle?: Uint8Array;
  ctos?: Uint8Array;
  stoc?: Uint8Array;
}

export class CosemServer {
  readonly stats: CosemStats = { associations: 0, rejected: 0, authFailures: 0, requests: 0, blocks: 0 };
  private assoc: Association | undefined;
  private blocks: Uint8Array[] = [];
  private blocksSent = 0;
  private serverIc = 1;
  /** Highest invocation counter seen per client system title: a replayed f(StoC) is refused. */
  private readonly lastClientIc = new Map<string, number>();
  private readonly ak: Buffer;
  private readonly ek: Buffer;
  private readonly title: Buffer;

  /** The objects served; replaced when the meter reboots (its registers reset). */
  objects: DlmsObjects;

  constructor(private readonly config: DlmsSimulatorConfig, objects: DlmsObjects, private readonly random: (n: number) => Uint8Array) {
    this.objects = objects;
    this.ak = Buffer.from(config.authenticationKey, 'hex');
    this.ek = Buffer.from(config.encryptionKey, 'hex');
    this.title = Buffer.from(config.systemTitle, 'hex');
  }

  /** The link went down (DISC, SNRM): the association ends with it. */
  reset(): void {
    this.assoc = undefined;
    this.blocks = [];
  }

  handle(apdu: Uint8Array): Uint8Array {
    this.stats.requests++;
    if (apdu[0] === 0x60) return this.associate(apdu);
    if (apdu[0] === 0x62) {
      this.reset();
      return RLRE;
    }
    if (!this.assoc) return exceptionResponse(1, 1); // service-not-allowed / operation-not-possible
    let req;
    try {
      req = parseRequest(apdu);
    } catch {
      return exceptionResponse(2, 2); // service-unknown / service-not-supported
    }
    if (req.kind === 'action') {
      if (req.classId === 15 && req.obis === '0.0.40.0.0.255' && req.method === 1) return this.replyToHls(req.iip, req.parameters);
      return actionResponse(req.iip, ACCESS.readWriteDenied);
    }
    if (!this.assoc.authenticated) return getResponseError(req.iip, ACCESS.readWriteDenied); // HLS passes 3-4 first
    if (req.kind === 'get-next') {
      if (this.blocks.length === 0) return getResponseError(req.iip, 16); // no-long-get-in-progress
      if (req.block !== this.blocksSent) return getResponseError(req.iip, 19); // data-block-number-invalid
      return this.nextBlock(req.iip);
    }
    const value = this.objects.get(req.classId, req.obis, req.attribute, req.access);
    if ('error' in value) return getResponseError(req.iip, value.error);
    const data = encode(value);
    const trailing = this.random(this.config.misbehave.trailingBytes);
    const max = Math.min(this.assoc.maxPdu, this.config.maxPdu);
    if (data.length + 4 + trailing.length <= max) return getResponseData(req.iip, Uint8Array.from([...data, ...trailing]));
    // IEC 62056-5-3 §7.3 GET with block transfer: raw-data blocks numbered from 1.
    const size = max - 16;
    this.blocks = [];
    for (let i = 0; i < data.length; i += size) this.blocks.push(data.subarray(i, i + size));
    this.blocksSent = 0;
    return this.nextBlock(req.iip);
  }

  private nextBlock(iip: number): Uint8Array {
    const raw = this.blocks[this.blocksSent++]!;
    this.stats.blocks++;
    const last = this.blocksSent === this.blocks.length;
    const out = getResponseBlock(iip, last, this.blocksSent, raw);
    if (last) this.blocks = [];
    return out;
  }

  private associate(apdu: Uint8Array): Uint8Array {
    this.reset();
    const base = { mechanism: 0, conformance: 0, maxPdu: this.config.maxPdu };
    let q;
    try {
      q = parseAarq(apdu);
    } catch {
      this.stats.rejected++;
      return encodeAare({ ...base, result: 1, diagnostic: 1 }); // rejected-permanent, no-reason-given
    }
    const reject = (diagnostic: number) => {
      this.stats.rejected++;
      return encodeAare({ ...base, mechanism: q.mechanism, result: 1, diagnostic });
    };
    if (q.contextId !== 1) return reject(2); // application-context-name-not-supported (LN, no ciphering only)
    const wanted = MECHANISM[this.config.auth];
    if (q.mechanism !== wanted) return reject(q.mechanism === 0 ? 14 : 11); // authentication-required / mechanism-name-not-recognised
    const conformance = q.conformance & SERVED_CONFORMANCE;
    const maxPdu = Math.min(q.maxReceivePduSize || 0xffff, this.config.maxPdu);
    if (this.config.auth === 'lls') {
      const pw = Buffer.from(this.config.password, 'latin1');
      if (!q.authValue || q.authValue.length !== pw.length || !timingSafeEqual(q.authValue, pw)) {
        this.stats.authFailures++;
        return reject(13); // authentication-failure
      }
    }
    if (this.config.auth === 'hls') {
      if (q.callingApTitle?.length !== 8 || !q.authValue || q.authValue.length < 8 || q.authValue.length > 64) return reject(13);
      const stoc = this.random(16);
      this.assoc = { authenticated: false, maxPdu: q.maxReceivePduSize || 0xffff, clientTitle: q.callingApTitle, ctos: q.authValue, stoc };
      this.stats.associations++;
      // Green Book §9.2.7.4 pass 2: accepted, authentication-required, with StoC and the server system title.
      return encodeAare({ result: 0, diagnostic: 14, mechanism: wanted, respondingApTitle: this.title, stoc, conformance, maxPdu });
    }
    this.assoc = { authenticated: true, maxPdu: q.maxReceivePduSize || 0xffff };
    this.stats.associations++;
    return encodeAare({ result: 0, diagnostic: 0, mechanism: wanted, conformance, maxPdu });
  }

  /** HLS pass 3 → 4: check f(StoC) (tag and a fresh invocation counter), answer f(CtoS). */
  private replyToHls(iip: number, parameters: Val | undefined): Uint8Array {
    const a = this.assoc!;
    if (!a.stoc || !a.ctos || !a.clientTitle || a.authenticated) return actionResponse(iip, ACCESS.readWriteDenied);
    const f = parameters?.type === 'octet-string' ? parameters.bytes : undefined;
    const titleKey = Buffer.from(a.clientTitle).toString('hex');
    const fail = () => {
      this.stats.authFailures++;
      return actionResponse(iip, ACCESS.readWriteDenied);
    };
    if (!f || f.length !== 17 || f[0] !== 0x10) return fail();
    const ic = Buffer.from(f).readUInt32BE(1);
    const expected = gmacF(a.stoc, this.ak, this.ek, a.clientTitle, ic);
    if (!timingSafeEqual(expected, f)) return fail();
    const last = this.lastClientIc.get(titleKey);
    if (last !== undefined && ic <= last) return fail(); // Green Book §9.2.7.2: a counter is never accepted twice
    this.lastClientIc.set(titleKey, ic);
    a.authenticated = true;
    return actionResponse(iip, 0, octets(gmacF(a.ctos, this.ak, this.ek, this.title, this.serverIc++)));
  }
}
