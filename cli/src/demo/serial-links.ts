// One serial link per simulated meter: a real pty pair from socat when it is installed, otherwise an
// in-process link (the README says so), so the demo runs on a machine with only Node and npm.
import { createInProcessLink, createPtyPair, socatAvailable, type InProcessPort } from '@meterseal/simulator';
import type { Duplex } from 'node:stream';

export interface SerialLink {
  kind: 'pty' | 'in-process';
  /** Where the simulator serves. */
  meterSide: { path: string } | { stream: Duplex };
  /** Where the agent reads. */
  agentSide: { path: string } | { port: InProcessPort };
  describe: string;
  close(): Promise<void>;
}

export async function serialLinkFactory(): Promise<{ kind: 'pty' | 'in-process'; create(): Promise<SerialLink> }> {
  if (await socatAvailable()) {
    return {
      kind: 'pty',
      async create() {
        const pair = await createPtyPair();
        return { kind: 'pty', meterSide: { path: pair.a }, agentSide: { path: pair.b }, describe: `${pair.a} <-> ${pair.b}`, close: () => pair.close() };
      },
    };
  }
  return {
    kind: 'in-process',
    async create() {
      const link = createInProcessLink();
      return {
        kind: 'in-process',
        meterSide: { stream: link.serverStream },
        agentSide: { port: link.clientPort },
        describe: 'in-process link',
        close: async () => link.close(),
      };
    },
  };
}
