// `meterseal verify --reading FILE --receipt FILE --trust FILE [--allow-unproven-key-status]`: checks a reading
// fully offline (no network) against a receipt (GET /receipt on the ledger) and a trust file (GET /v1/trust,
// copied out of band), with protocol checkReading (docs/protocol.md §10.6). It prints one line per named check —
// `PASS name`, `FAIL name: reason` — then `OK …` (exit 0) only when every check passed, else `FAIL …` (exit 1).
// A receipt without the key-status section (§10.5.1, older ledgers) cannot prove the key was bound for the seq
// and not revoked before it: those checks print `FAIL name: key status NOT proven …` and the exit code is 1,
// unless --allow-unproven-key-status, which prints them as `UNPROVEN name: …` and exits 0 if nothing else failed.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import {
  ProtocolError, ReceiptCheckError, checkReading, fromHex, parseTrustFile, verifyReading, type ReadingReport, type Trust, type VerifiedReading,
} from '@meterseal/protocol';

const MAX_FILE_BYTES = 1 << 20;

function readInput(path: string, what: string): Buffer {
  let b: Buffer;
  try {
    b = readFileSync(path);
  } catch (err) {
    throw new ReceiptCheckError('input', `cannot read the ${what} file ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (b.length > MAX_FILE_BYTES) throw new ReceiptCheckError('input', `the ${what} file ${path} is larger than 1 MiB`);
  return b;
}

/** A Delivery record (interface 2 payload), raw bytes or hex text. */
export function readDelivery(path: string): Uint8Array {
  const b = readInput(path, 'reading');
  const text = b.toString('latin1').trim();
  if (text.length > 0 && /^([0-9a-fA-F]{2})+$/.test(text)) return fromHex(text);
  return new Uint8Array(b);
}

export interface VerifyFiles {
  reading: string;
  receipt: string;
  trust: string;
}

function readFiles(f: VerifyFiles): { delivery: Uint8Array; receipt: string; trust: Trust } {
  const delivery = readDelivery(f.reading);
  const receipt = readInput(f.receipt, 'receipt').toString('utf8');
  try {
    return { delivery, receipt, trust: parseTrustFile(readInput(f.trust, 'trust').toString('utf8')) };
  } catch (err) {
    if (err instanceof ReceiptCheckError) throw err;
    throw new ReceiptCheckError('input', (err as Error).message, { cause: err });
  }
}

/** Runs every check (throwing API): the result or the first ReceiptCheckError; unproven key status is not an error here. */
export function verifyFiles(f: VerifyFiles): VerifiedReading {
  return verifyReading(readFiles(f));
}

/** Runs every check and reports each by name; input problems (unreadable or mismatched files) in `input`. */
export function checkFiles(f: VerifyFiles): ReadingReport & { quorum: number } {
  let files;
  try {
    files = readFiles(f);
  } catch (err) {
    if (err instanceof ReceiptCheckError) return { input: err, checks: [], ok: false, noFailure: false, quorum: 0 };
    throw err;
  }
  return { ...checkReading(files), quorum: files.trust.quorum };
}

export function describeOk(v: VerifiedReading, quorum: number): string {
  return `OK reading ${v.meterId} seq ${v.seq} is in log ${v.checkpoint.origin} at leaf ${v.leafIndex} under checkpoint size ${v.checkpoint.size}, ` +
    `cosigned by ${v.witnesses} trusted witness(es) (quorum ${quorum}); signed by a session key bound from seq ${v.bindingFirstSeq}; ` +
    (v.keyStatus === 'proven' ? 'key bound for this seq and not revoked before it (per-meter index proven)' : 'key status NOT proven (the receipt has no key-status section)');
}

/** The report as printed: one line per check, then the verdict; and the exit code. */
export function formatReport(r: ReturnType<typeof checkFiles>, allowUnproven: boolean): { text: string; code: number } {
  if (r.input) return { text: `FAIL input: ${r.input.message.slice('input: '.length)}\n`, code: 1 };
  const lines = r.checks.map((c) => {
    if (c.status === 'pass') return `PASS ${c.name}${c.note ? ` (${c.note})` : ''}`;
    if (c.status === 'unproven' && allowUnproven) return `UNPROVEN ${c.name}: ${c.reason}`;
    return `FAIL ${c.name}: ${c.reason}`;
  });
  const failed = r.checks.filter((c) => c.status === 'fail' || (c.status === 'unproven' && !allowUnproven));
  if (failed.length === 0 && r.reading) lines.push(describeOk(r.reading, r.quorum));
  else {
    const unproven = r.checks.filter((c) => c.status === 'unproven').length;
    lines.push(`FAIL ${failed.length} of ${r.checks.length} checks did not pass: ${failed.map((c) => c.name).join(', ')}` +
      (unproven > 0 && !allowUnproven ? ' (--allow-unproven-key-status accepts a receipt without a key-status section)' : ''));
  }
  return { text: `${lines.join('\n')}\n`, code: failed.length === 0 && r.reading ? 0 : 1 };
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('verify a reading offline: checkpoint signature, witness quorum, signatures, inclusion, and (from the per-meter index) that its key was bound and not revoked')
    .requiredOption('--reading <file>', 'the Delivery record (interface 2 payload), binary or hex')
    .requiredOption('--receipt <file>', "the receipt JSON (the ledger's GET /receipt?meter=..&seq=..)")
    .requiredOption('--trust <file>', "the trust file JSON (the ledger's GET /v1/trust, checked out of band)")
    .option('--allow-unproven-key-status', 'accept a receipt without a key-status section (older ledgers): key-bound and key-not-revoked are then reported UNPROVEN, not FAIL')
    .action((o: VerifyFiles & { allowUnprovenKeyStatus?: boolean }) => {
      let report;
      try {
        report = checkFiles(o);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        report = { input: new ReceiptCheckError('input', err.message, { cause: err }), checks: [], ok: false, noFailure: false, quorum: 0 };
      }
      const { text, code } = formatReport(report, o.allowUnprovenKeyStatus === true);
      process.stdout.write(text);
      process.exitCode = code;
    });
}
