// A DLMS/COSEM client (IEC 62056-5-3) over a connection-oriented data link such as HdlcLink: associate
// (AARQ/AARE, no authentication or low-level security), GET with block transfer, release (RLRQ/RLRE and
// DISC), and readers for Data, Register, Clock and Profile generic objects (objects.ts).
import { DlmsError } from '../errors.js';
import { concat } from './ber.js';
import { decodeData, type Data, type DataLimits } from '../axdr/index.js';
import type { ToUtcOptions } from '../axdr/datetime.js';
import { encodeAarq, encodeRlrq, parseAare, parseRlre, type Aare, type Rlre } from './acse.js';
import type { ConformanceBit } from './conformance.js';
import { AssociationRejectedError, DataAccessError, ServiceError } from './errors.js';
import {
  APDU_TAG,
  DATA_ACCESS_RESULT,
  encodeGetRequestNext,
  encodeGetRequestNormal,
  invokeIdAndPriority,
  parseExceptionResponse,
  parseGetResponse,
  type ExceptionResponse,
  type SelectiveAccess,
} from './get.js';
import { addLlc, stripLlc } from './llc.js';
import { encodeActionRequestNormal, parseActionResponse, type ActionResponse } from './action.js';
import { checkHlsKeys, checkSystemTitle, hlsChallenge, hlsGmac, verifyHlsGmac, type HlsKeys, type InvocationCounter } from './hls.js';
import { CLASS_ID, CLOCK_OBIS, DEFAULT_RANGE, captureObjects, clockReading, profileRows, rangeAccess, registerValue } from './objects.js';
import type { CaptureObject, ClockReading, RangeOptions, RegisterValue } from './objects.js';
import { formatObis, obis, type ObisInput } from './obis.js';

/** What the client needs of the data link (HdlcLink fits). */
export interface CosemLink {
  readonly state: string;
  connect(): Promise<unknown>;
  send(info: Uint8Array): Promise<Uint8Array>;
  disconnect(): Promise<void>;
}

export interface CosemClientOptions {
  /** Proposed conformance; default get, block-transfer-with-get-or-read, selective-access. */
  conformance?: readonly ConformanceBit[];
  /** client-max-receive-pdu-size proposed in the InitiateRequest; default 0xFFFF. */
  maxReceivePduSize?: number;
  dlmsVersion?: number;
  callingApTitle?: Uint8Array;
  /** Invoke-id of every request (0..15), default 1; priority high, default true. */
  invokeId?: number;
  highPriority?: boolean;
  /** Limits for decoding Data (depth, element count). */
  limits?: DataLimits;
  /** Block transfer: most bytes and blocks reassembled for one GET; defaults 1 MiB and 4096. */
  maxResponseBytes?: number;
  maxBlocks?: number;
  /** Bytes after a response's Data (a known server bug): 'ignore' (default, counted in stats) or 'error'. */
  trailingBytes?: 'ignore' | 'error';
  /** How readClock turns the meter's date-time into UTC. */
  clock?: ToUtcOptions;
}

export interface Association {
  aare: Aare;
  conformance: ConformanceBit[];
  serverMaxReceivePduSize: number;
  dlmsVersion: number;
  /** 'none', 'lls' or 'hls-gmac': how this association was authenticated. */
  authentication: 'none' | 'lls' | 'hls-gmac';
  /** HLS: the server system title (responding-AP-title) and the invocation counter of its f(CtoS). */
  serverSystemTitle?: Uint8Array;
  serverInvocationCounter?: bigint;
}

/** HLS-GMAC (mechanism 5) credentials: keys, the client system title and its invocation counter. */
export interface HlsAuth {
  keys: HlsKeys;
  /** The client's system title, 8 octets (sent as calling-AP-title). */
  systemTitle: Uint8Array;
  /** Where each f(StoC) takes its invocation counter from (never reused; see hls.ts). */
  invocationCounter: InvocationCounter;
  /** CtoS length, 8..64; default 16. */
  challengeLength?: number;
}

// Green Book §4.4.3 / IEC 62056-6-2 §4.4.3: the current Association LN object and its method 1.
export const CURRENT_ASSOCIATION = '0.0.40.0.0.255';
export const REPLY_TO_HLS_AUTHENTICATION = 1;

export interface ReleaseOptions {
  /** 'rlrq' (default): RLRQ then DISC; 'rlrq-with-initiate': RLRQ carrying the negotiated InitiateRequest;
   *  'none': DISC only (the association ends with the link). */
  request?: 'none' | 'rlrq' | 'rlrq-with-initiate';
}

export interface ReleaseOutcome {
  rlre?: Rlre;
  /** Some servers answer RLRQ with an exception-response; the link is disconnected all the same. */
  exception?: ExceptionResponse;
}

export interface ClientStats {
  requests: number;
  blocks: number;
  /** Bytes found after the Data of a response and ignored. */
  trailingBytes: number;
}

export type GetResult = { data: Data } | { accessResult: number; resultName: string };

const DEFAULT_CONFORMANCE: readonly ConformanceBit[] = ['block-transfer-with-get-or-read', 'get', 'selective-access'];

export class CosemClient {
  private assoc: Association | undefined;
  private readonly counters: ClientStats = { requests: 0, blocks: 0, trailingBytes: 0 };
  private readonly iip: number;

  constructor(readonly link: CosemLink, private readonly options: CosemClientOptions = {}) {
    this.iip = invokeIdAndPriority(options.invokeId ?? 1, options.highPriority ?? true);
  }

  get association(): Association | undefined {
    return this.assoc;
  }

  get stats(): ClientStats {
    return { ...this.counters };
  }

  /**
   * Connects the link if needed, sends AARQ and checks the AARE. A password selects low-level security.
   * On rejection the link is disconnected and AssociationRejectedError (REJECTED) is thrown.
   */
  async associate(auth: { password?: string | Uint8Array; hls?: HlsAuth } = {}): Promise<Association> {
    if (auth.hls) {
      checkHlsKeys(auth.hls.keys);
      checkSystemTitle(auth.hls.systemTitle, 'client');
    }
    if (this.link.state !== 'connected') await this.link.connect();
    this.assoc = undefined;
    const o = this.options;
    const ctos = auth.hls ? hlsChallenge(auth.hls.challengeLength ?? 16) : undefined;
    const callingApTitle = auth.hls?.systemTitle ?? o.callingApTitle;
    const aarq = encodeAarq({
      ...(callingApTitle ? { callingApTitle } : {}),
      ...(ctos ? { hlsChallenge: ctos } : auth.password !== undefined ? { password: auth.password } : {}),
      initiate: { conformance: o.conformance ?? DEFAULT_CONFORMANCE, maxReceivePduSize: o.maxReceivePduSize ?? 0xffff, dlmsVersion: o.dlmsVersion ?? 6 },
    });
    const aare = parseAare(await this.exchange(aarq, 'AARQ'));
    if (aare.result !== 0) {
      await this.link.disconnect().catch(() => undefined); // as the captured clients do after a rejection
      throw new AssociationRejectedError(aare);
    }
    const ir = aare.initiateResponse;
    if (!ir) throw new DlmsError('APDU', 'AARE accepted without an InitiateResponse');
    const authentication = auth.hls ? 'hls-gmac' : auth.password !== undefined ? 'lls' : 'none';
    this.assoc = { aare, conformance: ir.conformance, serverMaxReceivePduSize: ir.maxReceivePduSize, dlmsVersion: ir.dlmsVersion, authentication };
    if (auth.hls && ctos) {
      try {
        await this.replyToHls(auth.hls, ctos, aare);
      } catch (err) {
        this.assoc = undefined;
        await this.link.disconnect().catch(() => undefined); // the association is not usable: end it
        throw err;
      }
    }
    return this.assoc;
  }

  /**
   * HLS passes 3 and 4 (Green Book §9.2.7.4): ACTION reply_to_HLS_authentication with f(StoC), then verify
   * the server's f(CtoS). AUTH if the server refuses (wrong keys on one side) or its answer does not verify.
   */
  private async replyToHls(hls: HlsAuth, ctos: Uint8Array, aare: Aare): Promise<void> {
    const stoc = aare.respondingAuthenticationValue;
    if (aare.mechanismName !== undefined && aare.mechanismName !== '2.16.756.5.8.2.5') {
      throw new DlmsError('AUTH', `the server answered mechanism ${aare.mechanismName}, not high-level-security-gmac`);
    }
    if (!stoc || stoc.length < 8 || stoc.length > 64) throw new DlmsError('AUTH', `AARE without a usable StoC challenge (${stoc?.length ?? 0} octets)`);
    const serverTitle = checkSystemTitle(aare.respondingApTitle, 'server');
    const ic = hls.invocationCounter.next(); // explicit: taken (and persisted by the counter) before use
    const fStoC = hlsGmac(stoc, hls.keys, hls.systemTitle, ic);
    const r = await this.action(0x0f, CURRENT_ASSOCIATION, REPLY_TO_HLS_AUTHENTICATION, { type: 'octet-string', value: fStoC });
    if (r.result !== 0) throw new DlmsError('AUTH', `the server refused f(StoC): ${r.resultName} (wrong authentication or encryption key?)`);
    const returned = r.returned;
    if (!returned || !('data' in returned) || returned.data.type !== 'octet-string') throw new DlmsError('AUTH', 'reply_to_HLS_authentication returned no f(CtoS) octet-string');
    const serverIc = verifyHlsGmac(returned.data.value, ctos, hls.keys, serverTitle);
    this.assoc = { ...this.assoc!, serverSystemTitle: serverTitle.slice(), serverInvocationCounter: serverIc };
  }

  /** ACTION on one method (Action-Request-Normal); the raw Action-Response. */
  async action(classId: number, logicalName: ObisInput, methodId: number, parameters?: Data): Promise<ActionResponse> {
    if (!this.assoc) throw new DlmsError('STATE', 'ACTION before associate()');
    const r = parseActionResponse(await this.exchange(encodeActionRequestNormal(this.iip, { classId, instance: logicalName, methodId }, parameters), 'ACTION'), this.options.limits);
    this.checkInvokeId(r.invokeIdAndPriority);
    if (r.trailing > 0) {
      if (this.options.trailingBytes === 'error') throw new DlmsError('LENGTH', `${r.trailing} bytes after an Action-Response`);
      this.counters.trailingBytes += r.trailing;
    }
    return r;
  }

  /** GET one attribute; DataAccessError (ACCESS) if the server refuses it. */
  async get(classId: number, logicalName: ObisInput, attributeId: number, access?: SelectiveAccess): Promise<Data> {
    const r = await this.getResult(classId, logicalName, attributeId, access);
    if ('accessResult' in r) throw new DataAccessError(r.accessResult, `GET ${classId}/${formatObis(obis(logicalName))}/${attributeId}`);
    return r.data;
  }

  /** GET one attribute, returning a refusal as a value. Reassembles block transfer (GET with datablock). */
  async getResult(classId: number, logicalName: ObisInput, attributeId: number, access?: SelectiveAccess): Promise<GetResult> {
    if (!this.assoc) throw new DlmsError('STATE', 'GET before associate()');
    const request = encodeGetRequestNormal(this.iip, { classId, instance: obis(logicalName), attributeId }, access);
    let r = parseGetResponse(await this.exchange(request, 'GET'), this.options.limits);
    const refused = (accessResult: number): GetResult => ({ accessResult, resultName: DATA_ACCESS_RESULT[accessResult] ?? String(accessResult) });
    this.checkInvokeId(r.invokeIdAndPriority);
    if (r.kind === 'normal') {
      if ('accessResult' in r) return refused(r.accessResult);
      return { data: this.acceptTrailing(r.data, r.trailing) };
    }
    // IEC 62056-5-3 §7.3 (service GET with block transfer): blocks numbered from 1, each fetched with
    // Get-Request-Next carrying the number of the block just received, until last-block is TRUE.
    const parts: Uint8Array[] = [];
    let size = 0;
    const maxBytes = this.options.maxResponseBytes ?? 1 << 20;
    const maxBlocks = this.options.maxBlocks ?? 4096;
    for (let expected = 1; ; expected++) {
      this.checkInvokeId(r.invokeIdAndPriority);
      if ('accessResult' in r) return refused(r.accessResult); // e.g. long-get-aborted, in either response form
      if (r.kind !== 'datablock') throw new DlmsError('APDU', 'Data in a normal Get-Response in the middle of a block transfer');
      if (r.blockNumber !== expected) throw new DlmsError('APDU', `block ${r.blockNumber} where block ${expected} was due`);
      this.counters.blocks++;
      parts.push(r.raw);
      size += r.raw.length;
      if (size > maxBytes) throw new DlmsError('LIMIT', `block transfer longer than ${maxBytes} bytes`);
      if (r.lastBlock) break;
      if (expected >= maxBlocks) throw new DlmsError('LIMIT', `more than ${maxBlocks} blocks`);
      r = parseGetResponse(await this.exchange(encodeGetRequestNext(this.iip, r.blockNumber), 'GET next'), this.options.limits);
    }
    const { value, rest } = decodeData(concat(parts), this.options.limits);
    return { data: this.acceptTrailing(value, rest.length) };
  }

  /** Ends the association (see ReleaseOptions) and disconnects the link. */
  async release(options: ReleaseOptions = {}): Promise<ReleaseOutcome> {
    const mode = options.request ?? 'rlrq';
    const assoc = this.assoc;
    this.assoc = undefined;
    const outcome: ReleaseOutcome = {};
    let failure: unknown;
    try {
      if (assoc && mode !== 'none' && this.link.state === 'connected') {
        const initiate = { conformance: assoc.conformance, maxReceivePduSize: Math.min(this.options.maxReceivePduSize ?? 0xffff, assoc.serverMaxReceivePduSize) };
        const rlrq = encodeRlrq({ reason: 0, ...(mode === 'rlrq-with-initiate' ? { initiate } : {}) }); // reason normal(0)
        this.counters.requests++;
        const answer = stripLlc(await this.link.send(addLlc(rlrq)));
        if (answer[0] === APDU_TAG.exceptionResponse) outcome.exception = parseExceptionResponse(answer);
        else outcome.rlre = parseRlre(answer);
      }
    } catch (err) {
      failure = err;
    }
    // DISC ends the association in any case (IEC 62056-5-3: releasing the supporting layer releases the AA).
    if (this.link.state === 'connected') await this.link.disconnect().catch((err: unknown) => void (failure ??= err));
    if (failure !== undefined) throw failure;
    return outcome;
  }

  /** Data (class 1) attribute 2, value. */
  readData(logicalName: ObisInput): Promise<Data> {
    return this.get(CLASS_ID.data, logicalName, 2);
  }

  /** Register (class 3; or Extended register, class 4): attribute 2 (value), then 3 (scaler_unit). */
  async readRegister(logicalName: ObisInput, classId: 3 | 4 = CLASS_ID.register): Promise<RegisterValue> {
    const value = await this.get(classId, logicalName, 2);
    return registerValue(value, await this.get(classId, logicalName, 3));
  }

  /** Clock (class 8) attribute 2, time, as a UTC instant (honouring deviation and clock status). */
  async readClock(logicalName: ObisInput = CLOCK_OBIS): Promise<ClockReading> {
    return clockReading(await this.get(CLASS_ID.clock, logicalName, 2), this.options.clock);
  }

  /** Profile generic (class 7) attribute 3, capture_objects: the columns of the buffer. */
  async captureObjects(logicalName: ObisInput): Promise<CaptureObject[]> {
    return captureObjects(await this.get(CLASS_ID.profileGeneric, logicalName, 3));
  }

  /**
   * Profile generic (class 7) attribute 2, buffer: the whole buffer, or with `from`/`to` (epoch ms, UTC) the
   * entries in that range by selective access 1 on the clock column. One missing bound is open-ended
   * (DEFAULT_RANGE). Rows are returned as the server sent them (no null-data time stamps are filled in).
   */
  async getProfileBuffer(logicalName: ObisInput, from?: number, to?: number, options: RangeOptions = {}): Promise<Data[][]> {
    const access = from === undefined && to === undefined ? undefined : rangeAccess(from ?? DEFAULT_RANGE.from, to ?? DEFAULT_RANGE.to, options);
    return profileRows(await this.get(CLASS_ID.profileGeneric, logicalName, 2, access));
  }

  /** Sends one APDU (with LLC) and returns the answer APDU; an exception-response throws ServiceError. */
  private async exchange(apdu: Uint8Array, what: string): Promise<Uint8Array> {
    const max = this.assoc?.serverMaxReceivePduSize;
    if (max && apdu.length > max) throw new DlmsError('LIMIT', `${what} of ${apdu.length} bytes exceeds the server's max PDU size ${max}`);
    this.counters.requests++;
    const answer = stripLlc(await this.link.send(addLlc(apdu)));
    if (answer[0] === APDU_TAG.exceptionResponse) throw new ServiceError(parseExceptionResponse(answer), what);
    return answer;
  }

  private checkInvokeId(iip: number): void {
    if ((iip & 0x0f) !== (this.iip & 0x0f)) throw new DlmsError('APDU', `answer for invoke-id ${iip & 0x0f}, not ${this.iip & 0x0f}`);
  }

  private acceptTrailing(data: Data, trailing: number): Data {
    if (trailing > 0) {
      if (this.options.trailingBytes === 'error') throw new DlmsError('LENGTH', `${trailing} bytes after the Data of a Get-Response`);
      this.counters.trailingBytes += trailing;
    }
    return data;
  }
}
