// High-level security authentication with GMAC (HLS mechanism_id(5), security suite 0: AES-GCM-128), the
// four-pass exchange of DLMS UA 1000-2 (Green Book) Ed. 8 §9.2.7.4 "Authentication mechanisms" (HLS):
//   pass 1  AARQ: calling-AP-title = client system title, mechanism-name high-level-security-gmac,
//           calling-authentication-value = CtoS (a random challenge, 8..64 octets)
//   pass 2  AARE: responding-AP-title = server system title, responding-authentication-value = StoC
//   pass 3  ACTION Association LN (class 15) method 1 reply_to_HLS_authentication with f(StoC)
//   pass 4  its return parameter f(CtoS), which the client verifies
// f(X) = SC || IC || GMAC(SC || AK || X) with the global unicast encryption key EK, IV = system title of the
// party computing f || IC, and a 12-octet tag (Green Book §9.2.7.4, HLS mechanism 5; the security header
// §9.2.7.2: SC 0x10 = authentication only, suite 0). Computed with node:crypto (AES-GCM, empty plaintext).
import { createCipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import { DlmsError } from '../errors.js';

/** Security control byte: bit 4 authentication, no encryption, security suite 0 (Green Book §9.2.7.2, security header). */
export const SC_AUTHENTICATION = 0x10;
export const GMAC_TAG_LENGTH = 12; // Green Book §9.2.7.4: the authentication tag is 12 octets
export const SYSTEM_TITLE_LENGTH = 8; // Green Book §9.2.7.2 (system title: 8 octets, manufacturer id + serial)
export const MAX_INVOCATION_COUNTER = 0xffff_ffffn; // Unsigned32; a key must be changed before it runs out

export interface HlsKeys {
  /** Authentication key AK, 16 octets. */
  authenticationKey: Uint8Array;
  /** Global unicast encryption key EK (GUEK), 16 octets: the GCM key. */
  encryptionKey: Uint8Array;
}

export function checkHlsKeys(k: HlsKeys): void {
  if (k.authenticationKey.length !== 16) throw new DlmsError('VALUE', `authentication key is ${k.authenticationKey.length} octets, not 16 (AES-128)`);
  if (k.encryptionKey.length !== 16) throw new DlmsError('VALUE', `encryption key is ${k.encryptionKey.length} octets, not 16 (AES-128)`);
}

export function checkSystemTitle(st: Uint8Array | undefined, whose: string): Uint8Array {
  if (!st || st.length !== SYSTEM_TITLE_LENGTH) throw new DlmsError(whose === 'client' ? 'VALUE' : 'AUTH', `${whose} system title is ${st ? `${st.length} octets` : 'missing'}, not ${SYSTEM_TITLE_LENGTH}`);
  return st;
}

/** A fresh challenge (CtoS or StoC): Green Book §9.2.7.4 asks for 8..64 random octets; 16 by default. */
export function hlsChallenge(length = 16): Uint8Array {
  if (!Number.isInteger(length) || length < 8 || length > 64) throw new DlmsError('VALUE', `challenge length ${length} is not 8..64`);
  return new Uint8Array(randomBytes(length));
}

function gmacTag(keys: HlsKeys, systemTitle: Uint8Array, ic: bigint, challenge: Uint8Array): Uint8Array {
  const iv = Buffer.alloc(12);
  iv.set(systemTitle, 0);
  iv.writeUInt32BE(Number(ic), 8); // IV = system title (8) || invocation counter (4), Green Book §9.2.7.2, NIST SP 800-38D §8.2.1
  const gcm = createCipheriv('aes-128-gcm', keys.encryptionKey, iv, { authTagLength: GMAC_TAG_LENGTH });
  gcm.setAAD(Buffer.concat([Uint8Array.of(SC_AUTHENTICATION), keys.authenticationKey, challenge])); // A = SC || AK || challenge
  gcm.update(Buffer.alloc(0));
  gcm.final();
  return new Uint8Array(gcm.getAuthTag());
}

/** f(challenge) = SC || IC || GMAC tag (17 octets), computed by the party whose system title is given. */
export function hlsGmac(challenge: Uint8Array, keys: HlsKeys, systemTitle: Uint8Array, invocationCounter: bigint): Uint8Array {
  checkHlsKeys(keys);
  checkSystemTitle(systemTitle, 'client');
  if (invocationCounter < 0n || invocationCounter > MAX_INVOCATION_COUNTER) throw new DlmsError('LIMIT', `invocation counter ${invocationCounter} is not an Unsigned32: change the keys`);
  const out = new Uint8Array(5 + GMAC_TAG_LENGTH);
  out[0] = SC_AUTHENTICATION;
  new DataView(out.buffer).setUint32(1, Number(invocationCounter));
  out.set(gmacTag(keys, systemTitle, invocationCounter, challenge), 5);
  return out;
}

/**
 * Checks f(challenge) computed by the other party (its system title given) and returns the invocation
 * counter it used. AUTH when the security control byte, the size or the tag is wrong.
 */
export function verifyHlsGmac(f: Uint8Array, challenge: Uint8Array, keys: HlsKeys, systemTitle: Uint8Array): bigint {
  checkHlsKeys(keys);
  checkSystemTitle(systemTitle, 'server');
  if (f.length !== 5 + GMAC_TAG_LENGTH) throw new DlmsError('AUTH', `f(CtoS) is ${f.length} octets, not ${5 + GMAC_TAG_LENGTH} (SC, IC, 12-octet tag)`);
  if (f[0] !== SC_AUTHENTICATION) throw new DlmsError('AUTH', `f(CtoS) security control 0x${f[0]!.toString(16)}, not 0x10 (authentication, suite 0)`);
  const ic = BigInt(new DataView(f.buffer, f.byteOffset).getUint32(1));
  const expected = gmacTag(keys, systemTitle, ic, challenge);
  if (!timingSafeEqual(expected, f.subarray(5))) throw new DlmsError('AUTH', 'f(CtoS) does not verify: the server does not hold our keys (or the tag was tampered with)');
  return ic;
}

/**
 * The client's invocation counter for one set of keys. Green Book §9.2.7.2 (cryptographic protection of xDLMS APDUs) and NIST SP 800-38D §8 (IV uniqueness): an IV must
 * never repeat under one key, so every f(StoC) takes the next value; servers refuse a counter they have seen.
 * `next()` returns the value to use now and must make sure it is never returned again (persist first).
 */
export interface InvocationCounter {
  next(): bigint;
}

/** An in-memory counter starting at `start` (tests, or a counter read from the meter's 0.0.43.1.x.255). */
export class MemoryInvocationCounter implements InvocationCounter {
  constructor(private value: bigint = 0n) {}
  next(): bigint {
    if (this.value > MAX_INVOCATION_COUNTER) throw new DlmsError('LIMIT', 'invocation counter exhausted: change the keys');
    return this.value++;
  }
  get current(): bigint {
    return this.value;
  }
}
