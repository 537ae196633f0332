import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSimState, saveSimState, stateFile } from './sim-state.js';

t.test('the simulated energy register survives a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'simstate-'));
  t.equal(loadSimState(dir), undefined, 'no state on first start');
  saveSimState(dir, 1_234_567n);
  t.equal(loadSimState(dir), 1234.567);
});

t.test('a damaged state file is refused naming the problem, not silently reset to zero', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'simstate-'));
  writeFileSync(stateFile(dir), JSON.stringify({ energyImportWh: -5, savedAt: 'x' }));
  t.throws(() => loadSimState(dir), { code: 'SIM_STATE_INVALID', message: /energyImportWh/ });
});
