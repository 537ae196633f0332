// Fuzzing the config files every `meterseal` service reads (issue 8 item 2): readConfigFile + loadConfig over
// a real temp file holding random bytes, random JSON, or JSON objects whose keys are the schema's own
// (one level down too) with random values — for the ledger, collector, air-gap controller, witness, agent,
// edge gateway and the three simulators. A config or a CliError with a string code; never another exception
// (a zod refinement or transform that throws would surface here).
import t from 'tap';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import { fuzzParams, valueOrTyped } from '@meterseal/protocol';
import { AgentLaunchConfig } from '@meterseal/device';
import { LedgerConfigSchema } from '@meterseal/ledger-service';
import { CollectorConfigSchema } from '@meterseal/collector-system';
import { AirgapConfigSchema } from '@meterseal/airgap-controller';
import { WitnessConfigSchema } from '@meterseal/witness';
import { GatewayConfig } from '@meterseal/edge-gateway';
import { dlmsSimulatorConfigSchema, dlt645SimulatorConfigSchema, simulatorConfigSchema } from '@meterseal/simulator';
import { CliError } from './errors.js';
import { loadConfig } from './config-file.js';

const schemas: Array<[string, z.ZodType]> = [
  ['ledger', LedgerConfigSchema], ['collector', CollectorConfigSchema], ['airgap', AirgapConfigSchema], ['witness', WitnessConfigSchema],
  ['agent', AgentLaunchConfig], ['gateway', GatewayConfig], ['sim rtu', simulatorConfigSchema], ['sim dlt645', dlt645SimulatorConfigSchema], ['sim dlms', dlmsSimulatorConfigSchema],
];

/** The keys of an object schema (through optional/default/pipe wrappers and union options), else []. */
function shapeOf(s: unknown, depth = 0): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (!s || typeof s !== 'object' || depth > 6) return out;
  const def = (s as { def?: Record<string, unknown> }).def ?? {};
  const shape = (s as { shape?: Record<string, unknown> }).shape;
  if (shape && typeof shape === 'object') for (const [k, v] of Object.entries(shape)) out.set(k, v);
  for (const inner of [def['innerType'], def['in'], def['out'], def['schema']]) for (const [k, v] of shapeOf(inner, depth + 1)) out.set(k, v);
  for (const o of (def['options'] as unknown[] | undefined) ?? []) for (const [k, v] of shapeOf(o, depth + 1)) out.set(k, v);
  return out;
}

const scalar = fc.oneof(
  fc.constantFrom(0, -1, 1, 65535, 65536, 1e308, 0.5, '', 'x', '127.0.0.1', '::1', 'mqtt://127.0.0.1:1883', '/dev/null', '/nonexistent/x', '00'.repeat(32), 'relay', 'netns', 'gpio', true, false, null),
  fc.string({ maxLength: 30 }), fc.integer(), fc.double(),
);
const anyJson = fc.oneof(scalar, fc.jsonValue({ maxDepth: 2 }));

function configArb(schema: z.ZodType): fc.Arbitrary<Record<string, unknown>> {
  const shape = shapeOf(schema);
  const keys = [...shape.keys()];
  if (keys.length === 0) return fc.dictionary(fc.string({ maxLength: 10 }), anyJson, { maxKeys: 5 });
  const value = (k: string): fc.Arbitrary<unknown> => {
    const sub = [...shapeOf(shape.get(k)).keys()];
    return sub.length ? fc.oneof(anyJson, fc.dictionary(fc.constantFrom(...sub), anyJson, { maxKeys: sub.length })) : anyJson;
  };
  return fc.array(fc.constantFrom(...keys).chain((k) => value(k).map((v) => [k, v] as const)), { maxLength: keys.length + 2 }).map((kv) => Object.fromEntries(kv));
}

t.test('every service config file: a config or a CliError', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'config-fuzz-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.json');
  for (const [name, schema] of schemas) {
    t.ok(shapeOf(schema).size > 0, `${name}: the schema's keys are known to the generator (${shapeOf(schema).size})`);
    const content = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      anyJson.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
      configArb(schema).map((v) => Buffer.from(JSON.stringify(v))),
      configArb(schema).map((v) => Buffer.from(JSON.stringify({ dataDir: dir, ...v }))),
    );
    fc.assert(
      fc.property(content, (bytes) => {
        writeFileSync(file, bytes);
        return valueOrTyped(CliError, () => loadConfig(schema, file, {}, { dataDir: dir }));
      }),
      fuzzParams(300),
    );
    t.pass(`${name}: only configs or CliErrors`);
  }
});
