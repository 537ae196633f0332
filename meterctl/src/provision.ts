// A whole provisioning from a JSON file: auth, set-meter-id, set-account, set-endpoints, register.
// Stops at the first refusal and reports the command line and the console's answer line.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConsoleClient, type Exchange } from './client.js';
import { MeterctlError } from './errors.js';

export const ProvisionFile = z.object({
  meterId: z.string().min(1).max(64),
  customerAccount: z.string().min(1).max(128),
  ledgerUrl: z.string().url(),
  collectorUrl: z.string().url(),
  /** Register with the ledger at the end (default true). */
  register: z.boolean().default(true),
}).strict();
export type ProvisionFile = z.infer<typeof ProvisionFile>;

export function loadProvisionFile(path: string): ProvisionFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new MeterctlError('BAD_PROVISION_FILE', `${path}: ${(cause as Error).message}`, { cause });
  }
  const r = ProvisionFile.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new MeterctlError('BAD_PROVISION_FILE', `${path}: ${i ? `${i.path.join('.') || '(root)'}: ${i.message}` : 'invalid'}`);
  }
  for (const v of Object.values(r.data)) {
    if (typeof v === 'string' && (v.includes(' ') || v.includes('\t'))) throw new MeterctlError('BAD_PROVISION_FILE', `${path}: values cannot contain spaces`);
  }
  return r.data;
}

export interface ProvisionStep {
  index: number;
  total: number;
  name: string;
  line: string;
}

export interface ProvisionResult {
  ok: boolean;
  steps: Exchange[];
  /** The step that failed, when ok is false. */
  failed?: ProvisionStep & { exchange: Exchange };
}

export async function provision(
  client: ConsoleClient, plan: ProvisionFile, credentialHex: string, technicianKey: Uint8Array,
  progress: (step: ProvisionStep, exchange?: Exchange) => void = () => undefined,
): Promise<ProvisionResult> {
  const steps: Array<{ name: string; line: string; signed: boolean }> = [
    { name: 'auth', line: `auth ${credentialHex}`, signed: false },
    { name: 'set-meter-id', line: `set-meter-id ${plan.meterId}`, signed: true },
    { name: 'set-account', line: `set-account ${plan.customerAccount}`, signed: true },
    { name: 'set-endpoints', line: `set-endpoints ${plan.ledgerUrl} ${plan.collectorUrl}`, signed: true },
    ...(plan.register ? [{ name: 'register', line: 'register', signed: true }] : []),
  ];
  const done: Exchange[] = [];
  for (const [i, s] of steps.entries()) {
    const step = { index: i + 1, total: steps.length, name: s.name, line: s.name === 'auth' ? 'auth <credential>' : s.line };
    progress(step);
    const ex = s.signed ? await client.signed(s.line, technicianKey) : await client.request(s.line);
    progress(step, ex);
    done.push(ex);
    if (!ex.answer.ok) return { ok: false, steps: done, failed: { ...step, exchange: ex } };
  }
  return { ok: true, steps: done };
}
