// Test fixture: runs a controller in its own process (config as JSON in argv[2]) and prints its control
// address as one JSON line, so a test can kill -9 the controller itself while a window is open.
import { pino } from 'pino';
import { startAirgap } from '../controller.js';

const airgap = await startAirgap(JSON.parse(process.argv[2]!) as never, { log: pino({ level: 'silent' }) });
process.stdout.write(`${JSON.stringify(airgap.controlAddress)}\n`);
setInterval(() => {}, 60_000); // stay alive until killed
