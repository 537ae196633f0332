// A stand-in collector process for the client-death test: opens a window, prints it as one JSON line on
// stdout, then waits forever (until the test kills it with SIGKILL).
//   node --import tsx hold-window.ts <controlHost> <controlPort>
import { openWindow } from '../client.js';

const [host = '127.0.0.1', port = '0'] = process.argv.slice(2);
const window = await openWindow({ control: { host, port: Number(port) }, reason: 'client-death test' });
process.stdout.write(`${JSON.stringify({ windowId: window.windowId, relayUrl: window.relayUrl })}\n`);
setInterval(() => {}, 60_000);
