import t from 'tap';
import { MqttSizeFramer } from './packet-guard.js';

// MQTT 3.1.1 §2.2.3 examples: 0 = 0x00, 127 = 0x7f, 128 = 0x80 0x01, 16383 = 0xff 0x7f, 2097152 = 0x80 0x80 0x80 0x01
const packet = (lengthBytes: number[], bodyLength: number): Uint8Array => new Uint8Array([0x30, ...lengthBytes, ...new Array<number>(bodyLength).fill(0)]);

t.test('packets within the limit pass, split anywhere', async (t) => {
  const stream = new Uint8Array([...packet([0x00], 0), ...packet([0x7f], 127), ...packet([0x80, 0x01], 128), ...packet([0xc0, 0x02], 320)]);
  for (const size of [1, 2, 3, 7, 64, stream.length]) {
    const framer = new MqttSizeFramer(1 + 2 + 320);
    for (let i = 0; i < stream.length; i += size) framer.push(stream.subarray(i, i + size));
    t.pass(`chunks of ${size}`);
  }
});

t.test('a declared length over the limit is refused as soon as the length is read, before the body', async (t) => {
  const framer = new MqttSizeFramer(1024);
  framer.push(packet([0x10], 16));
  t.throws(() => framer.push(new Uint8Array([0x30, 0x80, 0x80, 0x80, 0x01])), { code: 'MALFORMED', message: /exceeds the 1024-byte limit/ });
});

t.test('a remaining length of more than four bytes is malformed', async (t) => {
  const framer = new MqttSizeFramer(1 << 28);
  t.throws(() => framer.push(new Uint8Array([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f])), { code: 'MALFORMED', message: /longer than 4 bytes/ });
});
