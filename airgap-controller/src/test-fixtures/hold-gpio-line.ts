// Test fixture: holds a GPIO line energised through LibgpiodLine (options as JSON in argv[2]) and prints
// "held", so a test can kill -9 this process and check that the gpioset holder does not outlive it.
import { LibgpiodLine } from '../drivers/gpio-libgpiod.js';

const options = JSON.parse(process.argv[2]!) as { gpiosetPath: string; chip: string; line: number };
const line = new LibgpiodLine({ ...options, settleMs: 300 });
await line.set(1);
process.stdout.write('held\n');
setInterval(() => {}, 60_000); // stay alive until killed
