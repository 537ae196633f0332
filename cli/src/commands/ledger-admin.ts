// The operator's commands (issue 5), sent to the ledger's admin API (ledger-service/src/operator.ts, on when
// the ledger config has `admin`): every command carries the operator's credential (OperatorCredential 0x22,
// issued by the utility) and is signed with the operator's key; the ledger checks both and audits it.
//   meterseal ledger import-meters FILE.csv
//   meterseal ledger revoke METER --reason TEXT
//   meterseal ledger approve-exchange METER --key HEX
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import {
  encodeMeterExchangeApproval, encodeRevocation, fromHex, signOperatorAction, signOperatorRequest, toHex, utf8,
} from '@meterseal/protocol';
import { CliError } from '../errors.js';

interface AdminOptions { admin: string; credential?: string; operatorKey?: string; json?: boolean }

function readHexFile(path: string, what: string, length?: number, secret = false): Uint8Array {
  let text: string;
  try {
    if (secret && (statSync(path).mode & 0o077) !== 0) throw new CliError('KEY_PERMISSIONS', `${path} is readable by others; chmod 600 it`);
    text = readFileSync(path, 'utf8').trim();
  } catch (cause) {
    if (cause instanceof CliError) throw cause;
    throw new CliError('BAD_FILE', `${what} ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    return fromHex(text, length);
  } catch (cause) {
    throw new CliError('BAD_FILE', `${what} ${path} is not ${length ? `${length} bytes of ` : ''}hex`, { cause });
  }
}

function operator(o: AdminOptions): { credential: Uint8Array; secretKey: Uint8Array } {
  if (!o.credential || !o.operatorKey) throw new CliError('NO_CREDENTIAL', 'operator commands need --credential FILE and --operator-key FILE');
  return { credential: readHexFile(o.credential, 'credential'), secretKey: readHexFile(o.operatorKey, 'operator key', 32, true) };
}

async function call(o: AdminOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = `${o.admin.replace(/\/+$/, '')}/v1/admin/${path}`;
  let r: Response;
  try {
    r = await fetch(url, { method, ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
  } catch (cause) {
    throw new CliError('ADMIN_UNREACHABLE', `cannot reach the ledger admin API at ${o.admin}: ${(cause as Error).message}`, { cause });
  }
  return { status: r.status, body: (await r.json().catch(() => ({}))) as Record<string, unknown> };
}

function report(o: AdminOptions, r: { status: number; body: Record<string, unknown> }, ok: (b: Record<string, unknown>) => string): void {
  if (o.json) process.stdout.write(`${JSON.stringify(r.body)}\n`);
  if (r.body.ok === true) {
    if (!o.json) process.stdout.write(`${ok(r.body)}\n`);
    return;
  }
  const e = (r.body.error ?? {}) as { code?: string; message?: string; lines?: { line: number; message: string }[] };
  if (!o.json) {
    process.stderr.write(`refused (${r.status}): ${e.code ?? 'ERROR'} — ${e.message ?? ''}\n`);
    for (const l of e.lines ?? []) process.stderr.write(`  line ${l.line}: ${l.message}\n`);
  }
  process.exitCode = 1;
}

async function meterKeyId(o: AdminOptions, meterId: string): Promise<Uint8Array> {
  const r = await call(o, 'GET', `meters/${encodeURIComponent(meterId)}`);
  if (r.body.ok !== true) {
    const e = (r.body.error ?? {}) as { code?: string; message?: string };
    throw new CliError(e.code ?? 'ADMIN_ERROR', e.message ?? `the ledger answered ${r.status}`);
  }
  return fromHex(r.body.identityKeyId as string, 8);
}

export function registerLedgerAdmin(ledger: Command): void {
  const common = (c: Command): Command => c
    .option('--admin <url>', 'the ledger admin API', 'http://127.0.0.1:8481')
    .option('--credential <file>', 'the operator credential (hex), issued by the utility')
    .option('--operator-key <file>', 'the operator\'s Ed25519 secret key (32-byte hex seed, mode 0600)')
    .option('--json', 'print the ledger\'s answer as JSON');
  const run = (fn: (...a: any[]) => Promise<void>) => async (...a: any[]): Promise<void> => {
    try {
      await fn(...a);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      process.stderr.write(`meterseal ledger: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}\n`);
      process.exitCode = 2;
    }
  };

  common(ledger.command('import-meters <file>').description('add meters from a CSV (meter_id,customer_account,model,site) to the whitelist'))
    .action(run(async (file: string, o: AdminOptions) => {
      const { credential, secretKey } = operator(o);
      let csv: string;
      try {
        csv = readFileSync(file, 'utf8');
      } catch (cause) {
        throw new CliError('BAD_FILE', `${file}: ${(cause as Error).message}`, { cause });
      }
      const nonce = new Uint8Array(randomBytes(16));
      const timeMs = BigInt(Date.now());
      const signature = signOperatorRequest('import-meters', timeMs, nonce, utf8.encode(csv), secretKey);
      const r = await call(o, 'POST', 'import-meters', { csv, timeMs: timeMs.toString(), nonce: toHex(nonce), credential: toHex(credential), signature: toHex(signature) });
      report(o, r, (b) => `imported ${(b.added as string[]).length} meter(s)${(b.added as string[]).length ? `: ${(b.added as string[]).join(' ')}` : ''}; ${String(b.unchanged)} already whitelisted`);
    }));

  common(ledger.command('revoke <meter>').description('revoke a meter: its later readings are refused with reason "revoked"'))
    .requiredOption('--reason <text>', 'why (recorded in the log)')
    .action(run(async (meterId: string, o: AdminOptions & { reason: string }) => {
      const { credential, secretKey } = operator(o);
      const identityKeyId = await meterKeyId(o, meterId);
      const record = encodeRevocation({ meterId, identityKeyId, reason: o.reason, timeMs: BigInt(Date.now()), operatorCredential: credential });
      const r = await call(o, 'POST', 'revoke', { action: toHex(signOperatorAction(record, secretKey)) });
      report(o, r, (b) => (b.already ? `${meterId} was already revoked (leaf ${String(b.leafIndex)})` : `${meterId} revoked (leaf ${String(b.leafIndex)})`));
    }));

  common(ledger.command('approve-exchange <meter>').description('approve a known meter\'s new identity key (a replaced board or a rotated key)'))
    .requiredOption('--key <hex>', 'the new identity public key (as `meterctl fingerprint` shows it)')
    .action(run(async (meterId: string, o: AdminOptions & { key: string }) => {
      const { credential, secretKey } = operator(o);
      let newIdentityPublicKey: Uint8Array;
      try {
        newIdentityPublicKey = fromHex(o.key, 32);
      } catch (cause) {
        throw new CliError('BAD_KEY', '--key must be a 32-byte public key in hex', { cause });
      }
      const oldIdentityKeyId = await meterKeyId(o, meterId);
      const record = encodeMeterExchangeApproval({ meterId, oldIdentityKeyId, newIdentityPublicKey, timeMs: BigInt(Date.now()), operatorCredential: credential });
      const r = await call(o, 'POST', 'approve-exchange', { action: toHex(signOperatorAction(record, secretKey)) });
      report(o, r, (b) => `exchange of ${meterId} approved (leaf ${String(b.leafIndex)}); the meter registers with its new key`);
    }));
}
