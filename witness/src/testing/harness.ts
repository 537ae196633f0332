// Test helpers: a real ledger (ledger-service's harness, ephemeral ports, a real meter client) that can be
// grown on demand, a witness configured for it, and raw add-checkpoint posts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { fromHex, noteSigner, type NoteSigner } from '@meterseal/protocol';
import { startTestLedger, tempDir, type Teardown, type TestLedger } from '@meterseal/ledger-service/testing/harness';
import type { FakeMeter } from '@meterseal/ledger-service/testing/fake-meter';
import { startWitness, type WitnessHandle } from '../service.js';
import type { WitnessConfigInput } from '../config.js';

export const silent = pino({ level: 'silent' });

export interface GrowingLedger extends TestLedger {
  /** Appends `n` anchors and returns a fresh signed checkpoint covering them. */
  grow(n: number): Promise<string>;
  /** Signs checkpoints with the ledger's own key, read from <dataDir>/ledger.key (for forged histories). */
  signer(): NoteSigner;
}

export async function startGrowingLedger(t: Teardown): Promise<GrowingLedger> {
  const M = { meterId: 'W-1', customerAccount: 'A-W1' };
  const tl = await startTestLedger(t, { meters: [M] });
  let meter: FakeMeter | undefined;
  let seq = 0n;
  return {
    ...tl,
    async grow(n) {
      if (!meter) {
        meter = await tl.meter(M);
        await meter.onboard(1n);
      }
      for (let i = 0; i < n; i++) {
        const { response } = await meter.anchor(++seq);
        if (!response.ok) throw new Error(`anchor refused: ${JSON.stringify(response)}`);
      }
      return tl.ledger.checkpointNow();
    },
    signer() {
      const seed = fromHex(readFileSync(join(tl.dataDir, 'ledger.key'), 'utf8').trim(), 32);
      return noteSigner(tl.ledger.origin, seed);
    },
  };
}

export async function startTestWitness(
  t: Teardown,
  ledger: { origin: string; verifierKey: string },
  o: { dataDir?: string; config?: Partial<WitnessConfigInput>; now?: () => number } = {},
): Promise<WitnessHandle & { dataDir: string }> {
  const dataDir = o.dataDir ?? tempDir(t, 'meterseal-witness-');
  const w = await startWitness(
    { dataDir, name: 'witness.test/w1', http: { port: 0 }, logs: [{ origin: ledger.origin, verifierKey: ledger.verifierKey }], ...o.config },
    { log: silent, ...(o.now ? { now: o.now } : {}) },
  );
  t.teardown(() => w.close());
  return Object.assign(w, { dataDir });
}

export async function post(url: string, body: string | Uint8Array, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/add-checkpoint`, { method: 'POST', body, headers });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

/** GET the ledger's RFC 9162 consistency proof (hex → bytes). */
export async function ledgerProof(httpUrl: string, from: bigint, to: bigint): Promise<Uint8Array[]> {
  const r = (await (await fetch(`${httpUrl}/v1/proof/consistency?from=${from}&to=${to}`)).json()) as { proof: string[] };
  return r.proof.map((h) => fromHex(h, 32));
}
