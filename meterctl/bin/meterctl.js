#!/usr/bin/env node
// The `meterctl` command. MeterSeal runs its TypeScript sources directly through tsx (no build step),
// so this shim registers tsx's loader and hands over to the real entry point.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
