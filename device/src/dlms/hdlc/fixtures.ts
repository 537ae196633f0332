// Test support only (not exported): the captured HDLC sessions in device/test-vectors/dlms/.
import { readFileSync } from 'node:fs';

export interface CapturedFrame {
  dir: 'client->server' | 'server->client';
  bytes: Uint8Array;
  fcsOk: boolean;
}

export interface CapturedSession {
  name: string;
  description: string;
  frames: CapturedFrame[];
}

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const file = new URL('../../../test-vectors/dlms/hdlc_sessions_captured.json', import.meta.url);
const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

export const notes = raw['_notes'] as Record<string, string>;

export const sessions: CapturedSession[] = Object.entries(raw)
  .filter(([name]) => !name.startsWith('_'))
  .map(([name, value]) => {
    const v = value as { description: string; frames: { dir: CapturedFrame['dir']; hex: string; fcs_ok: boolean }[] };
    return {
      name,
      description: v.description,
      frames: v.frames.map((f) => ({ dir: f.dir, bytes: hex(f.hex), fcsOk: f.fcs_ok })),
    };
  });

export const allFrames: CapturedFrame[] = sessions.flatMap((s) => s.frames);
