// The add-checkpoint body parser on its own: the spec's example shape, and hostile bodies (all MALFORMED).
import t from 'tap';
import { generateKeyPair, noteSigner, signCheckpoint } from '@meterseal/protocol';
import { MAX_PROOF_LINES, MAX_REQUEST_BYTES, formatAddCheckpointRequest, parseAddCheckpointRequest } from './request.js';

const signer = noteSigner('example.com/behind-the-sofa', generateKeyPair().secretKey);
const root = new Uint8Array(32).fill(7);
const note = signCheckpoint({ origin: 'example.com/behind-the-sofa', size: 20852163n, root, extensions: [] }, signer);
const h = 'PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw='; // a hash line of the c2sp.org/tlog-witness example
const enc = (s: string) => new TextEncoder().encode(s);

t.test('the c2sp.org/tlog-witness request shape parses', async (t) => {
  const r = parseAddCheckpointRequest(enc(`old 20852014\n${h}\n${h}\n\n${note}`));
  t.equal(r.oldSize, 20852014n);
  t.equal(r.proof.length, 2);
  t.equal(r.note, note);
  t.equal(r.checkpoint.size, 20852163n);
  t.equal(r.text, 'example.com/behind-the-sofa\n20852163\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n');
  t.same(parseAddCheckpointRequest(enc(`old 0\n\n${note}`)).proof, [], 'first checkpoint: old 0, no proof');
  const again = formatAddCheckpointRequest(5n, r.proof, note);
  t.equal(again, `old 5\n${h}\n${h}\n\n${note}`, 'format is the inverse');
  const withTwo = note + `\u2014 other.example/key ${Buffer.alloc(68, 1).toString('base64')}\n`;
  t.equal(parseAddCheckpointRequest(enc(`old 0\n\n${withTwo}`)).signatures.length, 2, 'several signatures may come');
});

t.test('hostile bodies are MALFORMED (HTTP 400), with a reason', async (t) => {
  const cases: Array<[string, string | Uint8Array, RegExp]> = [
    ['empty', '', /no empty line/],
    ['only a note', note, /first line/],
    ['no old line', `\n${note}`, /first line/],
    ['leading zero', `old 01\n\n${note}`, /leading zeros/],
    ['negative', `old -1\n\n${note}`, /first line/],
    ['two spaces', `old  5\n\n${note}`, /first line/],
    ['trailing space', `old 5 \n\n${note}`, /first line/],
    ['capital', `OLD 5\n\n${note}`, /first line/],
    ['2^64', `old 18446744073709551616\n\n${note}`, /64 bits/],
    ['old above size', `old 20852164\n${h}\n\n${note}`, /larger than the checkpoint size/],
    ['proof with old 0', `old 0\n${h}\n\n${note}`, /must be empty/],
    ['hex proof line (valid base64, 48 bytes)', `old 5\n${'ab'.repeat(32)}\n\n${note}`, /32-byte/],
    ['not base64', `old 5\n!!!!\n\n${note}`, /base64/],
    ['unpadded base64', `old 5\n${h.slice(0, -1)}\n\n${note}`, /base64/],
    ['31-byte hash', `old 5\n${Buffer.alloc(31).toString('base64')}\n\n${note}`, /32-byte/],
    ['64 proof lines', `old 5\n${`${h}\n`.repeat(MAX_PROOF_LINES + 1)}\n${note}`, /more than 63/],
    ['CRLF', `old 5\r\n${h}\r\n\r\n${note}`, /first line|empty line/],
    ['note without signatures', `old 0\n\nexample.com/behind-the-sofa\n1\n${h}\n`, /checkpoint note/],
    ['extra empty line', `old 0\n\n\n${note}`, /checkpoint note/],
    ['bad checkpoint size', `old 0\n\n${note.replace('\n20852163\n', '\n020852163\n')}`, /checkpoint note/],
    ['bad signature line', `old 0\n\n${note.slice(0, -1)} extra\n`, /checkpoint note/],
    ['not UTF-8', new Uint8Array([0x6f, 0x6c, 0x64, 0x20, 0x30, 0x0a, 0x0a, 0xff, 0xfe]), /UTF-8/],
    ['too large', 'x'.repeat(MAX_REQUEST_BYTES + 1), /exceeds/],
  ];
  for (const [name, body, message] of cases) {
    t.throws(() => parseAddCheckpointRequest(typeof body === 'string' ? enc(body) : body), { name: 'WitnessError', code: 'MALFORMED', message }, name);
  }
});
