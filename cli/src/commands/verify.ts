// `meterseal verify --reading FILE --receipt FILE --trust FILE`: checks a reading fully offline (no network)
// against a receipt (GET /receipt on the ledger) and a trust file (GET /v1/trust, copied out of band), with
// protocol verifyReading (docs/protocol.md §10.6). Exit 0 with "OK …", exit 1 with "FAIL <check>: <reason>".
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { ProtocolError, ReceiptCheckError, fromHex, parseTrustFile, verifyReading, type VerifiedReading } from '@meterseal/protocol';

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

/** Runs every check; the result or a ReceiptCheckError / ProtocolError naming what failed. */
export function verifyFiles(f: VerifyFiles): VerifiedReading {
  const delivery = readDelivery(f.reading);
  const receipt = readInput(f.receipt, 'receipt').toString('utf8');
  let trust;
  try {
    trust = parseTrustFile(readInput(f.trust, 'trust').toString('utf8'));
  } catch (err) {
    if (err instanceof ReceiptCheckError) throw err;
    throw new ReceiptCheckError('input', (err as Error).message, { cause: err });
  }
  // Non-revocation: the per-meter index (being built in parallel) plugs in as verifyReading's checkRevocation.
  return verifyReading({ delivery, receipt, trust });
}

export function describeOk(v: VerifiedReading, quorum: number): string {
  return `OK reading ${v.meterId} seq ${v.seq} is in log ${v.checkpoint.origin} at leaf ${v.leafIndex} under checkpoint size ${v.checkpoint.size}, ` +
    `cosigned by ${v.witnesses} trusted witness(es) (quorum ${quorum}); signed by a session key bound from seq ${v.bindingFirstSeq} ` +
    '(non-revocation not checked: no per-meter index given)';
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('verify a reading offline: its signature, key binding, inclusion in the log, the checkpoint signature and the witness quorum')
    .requiredOption('--reading <file>', 'the Delivery record (interface 2 payload), binary or hex')
    .requiredOption('--receipt <file>', "the receipt JSON (the ledger's GET /receipt?meter=..&seq=..)")
    .requiredOption('--trust <file>', "the trust file JSON (the ledger's GET /v1/trust, checked out of band)")
    .action((o: VerifyFiles) => {
      try {
        const v = verifyFiles(o);
        const quorum = parseTrustFile(readFileSync(o.trust, 'utf8')).quorum;
        process.stdout.write(`${describeOk(v, quorum)}\n`);
      } catch (err) {
        const check = err instanceof ReceiptCheckError ? err.check : 'input';
        const message = err instanceof ReceiptCheckError ? err.message.slice(check.length + 2) : (err as Error).message;
        if (!(err instanceof ProtocolError)) throw err;
        process.stdout.write(`FAIL ${check}: ${message}\n`);
        process.exitCode = 1;
      }
    });
}
