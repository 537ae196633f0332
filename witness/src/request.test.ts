// The add-checkpoint body parser on its own: the spec's example shape, and hostile bodies (all MALFORMED).
import t from 'tap';
import { generateKeyPair, noteSigner, signCheckpoint } from '@meterseal/protocol';
import { MAX_LINK_GROUPS, MAX_PROOF_LINES, MAX_REQUEST_BYTES, formatAddCheckpointRequest, parseAddCheckpointRequest } from './request.js';

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

t.test('the period link extension: link, link-proof and link-consistency lines with old 0 (README)', async (t) => {
  const e = Buffer.from([0x16, 1, 2, 3]).toString('base64');
  const r = parseAddCheckpointRequest(enc(`old 0\nlink ${e}\nlink-proof ${h}\nlink-proof ${h}\nlink ${e}\nlink-consistency ${h}\n\n${note}`));
  t.equal(r.link?.groups.length, 2);
  t.same(r.link?.groups.map((g) => g.proof.length), [2, 0]);
  t.equal(r.link?.consistency.length, 1);
  t.same(r.proof, [], 'no c2sp proof lines');
  t.equal(formatAddCheckpointRequest(0n, [], note, r.link), `old 0\nlink ${e}\nlink-proof ${h}\nlink-proof ${h}\nlink ${e}\nlink-consistency ${h}\n\n${note}`, 'format is the inverse');
  t.equal(parseAddCheckpointRequest(enc(`old 0\n\n${note}`)).link, undefined, 'a plain c2sp body has no link');
  const cases: Array<[string, string, RegExp]> = [
    ['link with old above 0', `old 5\nlink ${e}\n\n${note}`, /only allowed with old 0/],
    ['proof before link', `old 0\nlink-proof ${h}\n\n${note}`, /must follow a link line/],
    ['consistency alone', `old 0\nlink-consistency ${h}\n\n${note}`, /need a link line first/],
    ['link after consistency', `old 0\nlink ${e}\nlink-consistency ${h}\nlink ${e}\n\n${note}`, /after the link-consistency/],
    ['unknown keyword', `old 0\nlink ${e}\nlinks ${h}\n\n${note}`, /must be link, link-proof or link-consistency/],
    ['plain proof line among link lines', `old 0\nlink ${e}\n${h}\n\n${note}`, /must be link, link-proof or link-consistency/],
    ['empty entry', `old 0\nlink \n\n${note}`, /entry 0 must be/],
    ['entry not base64', `old 0\nlink !!\n\n${note}`, /not canonical base64/],
    ['short link-proof hash', `old 0\nlink ${e}\nlink-proof ${Buffer.alloc(31).toString('base64')}\n\n${note}`, /32-byte/],
    ['too many links', `old 0\n${`link ${e}\n`.repeat(MAX_LINK_GROUPS + 1)}\n${note}`, /more than 4 link lines/],
    ['too many link-proof lines', `old 0\nlink ${e}\n${`link-proof ${h}\n`.repeat(MAX_PROOF_LINES + 1)}\n${note}`, /more than 63 link-proof/],
  ];
  for (const [name, body, message] of cases) {
    t.throws(() => parseAddCheckpointRequest(enc(body)), { name: 'WitnessError', code: 'MALFORMED', message }, name);
  }
});
