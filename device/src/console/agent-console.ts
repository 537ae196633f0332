// The agent with its provisioning console wired in (issue 5 item 1). The console opens on a serial line
// (config `console.path`) as soon as the identity key is loaded, before the meter is provisioned. Settings
// set over the console (console-settings.json in the data dir) override the config file's meterId,
// customerAccount and the two endpoints. Once the meter has an id and an account the agent proper
// (startAgent) runs with the merged config; `register`, `rotate-key` and `factory-reset` restart or stop it.
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex } from '@meterseal/protocol';
import { startAgent, type AgentDeps, type AgentHandle } from '../agent.js';
import { AgentLaunchConfig, type AgentConfig, type AgentLaunchConfigInput } from '../config.js';
import { AgentError } from '../errors.js';
import { keyFileOptions, loadOrCreateKey } from '../keystore.js';
import { ConsoleError } from './guard.js';
import type { ConsoleAgent } from './session.js';
import { FileSettingsStore, type ConsoleSettings, type SettingsStore } from './settings.js';
import { openSerialConsole, type ConsoleHandle } from './transport.js';

export const CONSOLE_AUDIT_FILE = 'console-audit.log';
const KEY_FILE = 'identity.key';
const OUTBOX_FILE = 'agent.sqlite';

export interface ConsoleAgentHandle {
  /** The console, when config.console is set. */
  console: ConsoleHandle | null;
  /** The running agent, or null while unprovisioned (or after a factory reset). */
  agent(): AgentHandle | null;
  /** The settings in force: config values overridden by what was set over the console. */
  settings(): ConsoleSettings;
  close(): Promise<void>;
}

/** Settings as the console sees them: the file's values over the config file's defaults. */
class LayeredSettings implements SettingsStore {
  constructor(private readonly file: FileSettingsStore, private readonly defaults: ConsoleSettings) {}
  get(): ConsoleSettings {
    const f = this.file.get();
    const merged: ConsoleSettings = { ...this.defaults };
    for (const [k, v] of Object.entries(f)) if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
    return merged;
  }
  update(patch: Partial<ConsoleSettings>): ConsoleSettings {
    this.file.update(patch);
    return this.get();
  }
  reset(): void {
    this.file.reset();
  }
}

/** Moves a file aside (kept for forensics, never used again); returns the new name or null. */
function moveAside(path: string, tag: string): string | null {
  if (!existsSync(path)) return null;
  const to = `${path}.${tag}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(path, to);
  for (const ext of ['-wal', '-shm']) if (existsSync(path + ext)) renameSync(path + ext, to + ext);
  return to;
}

export async function startConsoleAgent(input: AgentLaunchConfigInput, deps: AgentDeps): Promise<ConsoleAgentHandle> {
  const config = AgentLaunchConfig.parse(input);
  const log = deps.log.child({ component: 'console-agent' });
  const keyPath = join(config.dataDir, KEY_FILE);
  const keyOptions = keyFileOptions(config);
  let identity = loadOrCreateKey(keyPath, keyOptions).key; // refuses a key file readable by others before anything opens
  const defaults: ConsoleSettings = {
    ...(config.meterId ? { meterId: config.meterId } : {}),
    ...(config.customerAccount ? { customerAccount: config.customerAccount } : {}),
    ledgerUrl: config.ledger.url,
    collectorUrl: config.collector.url,
  };
  const settings: SettingsStore = config.console ? new LayeredSettings(FileSettingsStore.inDataDir(config.dataDir), defaults) : {
    get: () => ({ ...defaults }),
    update: () => { throw new AgentError('NO_CONSOLE', 'settings change only over the console'); },
    reset: () => undefined,
  };

  let agent: AgentHandle | null = null;
  let closed = false;
  let chain: Promise<unknown> = Promise.resolve(); // start/stop one at a time
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };

  const agentConfig = (): AgentConfig | null => {
    const s = settings.get();
    if (!s.meterId || !s.customerAccount) return null;
    const { console: _console, ...rest } = config;
    return {
      ...rest, meterId: s.meterId, customerAccount: s.customerAccount,
      ledger: { url: s.ledgerUrl ?? config.ledger.url }, collector: { url: s.collectorUrl ?? config.collector.url },
    };
  };
  const stop = async (): Promise<void> => {
    const a = agent;
    agent = null;
    if (a) await a.close();
  };
  const restart = (): Promise<AgentHandle | null> => serial(async () => {
    await stop();
    const c = agentConfig();
    if (!c || closed) return null;
    agent = await startAgent(c, deps);
    return agent;
  });

  const registerTimeoutMs = config.console?.registerTimeoutMs ?? 30_000;
  const consoleAgent: ConsoleAgent = {
    identityPublicKey: () => identity.publicKey,
    settings,
    state: () => {
      const a = agent;
      if (!a) return { running: false, enrolled: false };
      const st = a.stats();
      return { running: true, enrolled: st.enrolled, readsTaken: st.readsTaken, enrolError: a.enrolError(), foreignBindings: a.foreignBindings(), outbox: st.outbox };
    },
    readOnce: async () => {
      const a = agent;
      if (!a) throw new ConsoleError('NOT_PROVISIONED', 'the agent is not running: provision and register first');
      if (!a.stats().enrolled) throw new ConsoleError('NOT_ENROLLED', 'not enrolled with the ledger yet: no session key to sign with');
      return { seq: await a.readNow() };
    },
    register: async () => {
      const a = await restart();
      if (!a) throw new ConsoleError('NOT_PROVISIONED', 'set-meter-id and set-account first');
      // The agent keeps retrying in the background; the console reports the first outcome it sees.
      const deadline = Date.now() + registerTimeoutMs;
      let done = false;
      void a.enrolled.then(() => (done = true));
      while (!done && Date.now() < deadline && agent === a) {
        const err = a.enrolError();
        if (err) throw new ConsoleError(err.code, `the ledger refused or could not be reached: ${err.message} (the agent keeps retrying)`);
        await new Promise((r) => setTimeout(r, 100));
      }
      if (!done) throw new ConsoleError('REGISTER_TIMEOUT', `no answer from the ledger within ${registerTimeoutMs} ms (the agent keeps retrying)`);
      return { meterId: a.meterId, enrolled: true };
    },
    rotateKey: async () => serial(async () => {
      // A new identity key: the old one is kept aside, the agent restarts and registers the new key,
      // which the ledger refuses (KEY_MISMATCH) until an operator approves the meter exchange.
      await stop();
      const old = moveAside(keyPath, 'retired');
      identity = loadOrCreateKey(keyPath, keyOptions).key;
      log.warn({ retired: old }, 'identity key rotated over the console');
      const c = agentConfig();
      if (c && !closed) agent = await startAgent(c, deps);
      return identity.publicKey;
    }),
    correct: async (req) => {
      const a = agent;
      if (!a) throw new ConsoleError('NOT_PROVISIONED', 'the agent is not running: provision and register first');
      return a.correct(req);
    },
    factoryReset: async () => serial(async () => {
      // Settings are already cleared. Readings not yet delivered belong to the old meter id: the outbox is
      // moved aside (never sent under a new id) and a new identity key is made.
      await stop();
      const outbox = moveAside(join(config.dataDir, OUTBOX_FILE), 'factory-reset');
      const key = moveAside(keyPath, 'factory-reset');
      moveAside(join(config.dataDir, 'session-keys.json'), 'factory-reset');
      identity = loadOrCreateKey(keyPath, keyOptions).key;
      log.warn({ outbox, key }, 'factory reset over the console');
    }),
  };

  let consoleHandle: ConsoleHandle | null = null;
  if (config.console) {
    const c = config.console;
    consoleHandle = await openSerialConsole({ path: c.path, baudRate: c.baudRate }, consoleAgent, {
      trustedIssuers: c.utilityPublicKeys.map((k) => fromHex(k, 32)),
      auditLogPath: join(config.dataDir, CONSOLE_AUDIT_FILE),
    });
    log.info({ path: c.path }, 'provisioning console open');
  }
  if (!config.console && !agentConfig()) {
    throw new AgentError('NOT_PROVISIONED', 'meterId and customerAccount are required unless a provisioning console is configured');
  }
  if (agentConfig()) await restart();
  else log.info('not provisioned yet: waiting for the console (set-meter-id, set-account, register)');

  return {
    console: consoleHandle,
    agent: () => agent,
    settings: () => settings.get(),
    async close() {
      closed = true;
      await consoleHandle?.close();
      await serial(stop);
    },
  };
}
