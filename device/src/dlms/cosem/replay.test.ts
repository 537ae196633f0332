// End to end: each captured session replayed through HdlcLink + CosemClient against a scripted server that
// checks every client frame against the capture (byte for byte) and answers with the captured server frames.
import t from 'tap';
import { serverAddress } from '../hdlc/address.js';
import { hex, notes, toHex } from '../hdlc/fixtures.js';
import { HdlcLink } from '../hdlc/link.js';
import { CosemClient, type CosemClientOptions } from './client.js';
import { AssociationRejectedError } from './errors.js';
import { formatObis } from './obis.js';
import { GURUX_CONFORMANCE, PWITAB_CONFORMANCE, replay, session } from './test-support.js';

function setup(name: string, clientSap: number, options: CosemClientOptions, chunk = 0, tamper?: Parameters<typeof replay>[2]) {
  const s = session(name);
  const r = replay(s, chunk, tamper);
  const link = new HdlcLink(r.transport, { client: clientSap, server: serverAddress(1), retries: 0 });
  const client = new CosemClient(link, options);
  const done = (t: Pick<typeof import('tap').default, 'same' | 'equal'>) => {
    t.same(r.mismatches, [], 'every client frame as captured');
    t.equal(r.played(), s.frames.length, 'the whole capture was played');
    t.equal(link.state, 'disconnected');
    link.close();
  };
  return { client, link, done };
}

const octets = (s: string) => ({ type: 'octet-string', value: new TextEncoder().encode(s) });

t.test('Gurux client, no authentication: association view (4 blocks), clock, register, logical device name', async (t) => {
  for (const chunk of [0, 7, 1]) {
    const { client, done } = setup('gurux-c-simple-server_pty_auth-none', 0x10, { conformance: GURUX_CONFORMANCE }, chunk);
    const assoc = await client.associate();
    t.same([assoc.conformance, assoc.serverMaxReceivePduSize, assoc.dlmsVersion], [['get'], 512, 6]);
    const view = await client.get(15, '0.0.40.0.0.255', 2);
    t.equal(view.type === 'array' && view.value.length, 23, 'object_list of 23 objects, reassembled from 4 blocks');
    const names = view.type === 'array' ? view.value.map((e) => (e.type === 'structure' && e.value[2]?.type === 'octet-string' ? formatObis(e.value[2].value) : '?')) : [];
    t.same(names.slice(7, 10), ['0-0:1.0.0*255', '1-1:21.25.0*255', '1-0:1.8.0*255']);
    const clock = await client.readClock();
    t.same([clock.iso, clock.dateTime.deviation, clock.doubtful], ['2026-11-21T13:32:48.000Z', 0, false]);
    t.same(await client.readRegister('1.0.1.8.0.255'), { value: 12345678n, scaler: 0, unit: 30, unitSymbol: 'Wh', decimal: '12345678' });
    t.same(await client.readData('0.0.42.0.0.255'), octets('GRX0000000123456'));
    t.same(await client.release({ request: 'none' }), {}, 'the Gurux client ends with DISC only');
    t.same(client.stats, { requests: 9, blocks: 4, trailingBytes: 0 }, 'AARQ, GET + 3 GET-next, clock, 2 × register, data');
    t.equal(client.association, undefined);
    done(t);
  }
});

t.test('Gurux client, low-level security with the password "Gurux"', async (t) => {
  const { client, done } = setup('_pty_auth-low', 0x11, { conformance: GURUX_CONFORMANCE });
  const assoc = await client.associate({ password: 'Gurux' });
  t.same(assoc.aare.diagnostic, { source: 'acse-service-user', value: 0, name: 'null' });
  t.ok(assoc.conformance.includes('block-transfer-with-get-or-read'));
  const view = await client.get(15, '0.0.40.0.0.255', 2);
  t.equal(view.type === 'array' && view.value.length, 23);
  t.equal((await client.readClock()).iso, '2026-11-21T13:32:48.000Z');
  t.equal((await client.readRegister('1-0:1.8.0*255')).value, 12345678n);
  await client.release({ request: 'none' });
  done(t);
});

t.test('a wrong password: AssociationRejectedError (rejected-permanent, authentication-failure), then DISC', async (t) => {
  const { client, done } = setup('wrong-password', 0x11, { conformance: GURUX_CONFORMANCE });
  const err = await client.associate({ password: 'WRONG' }).catch((e: unknown) => e);
  t.ok(err instanceof AssociationRejectedError);
  const e = err as AssociationRejectedError;
  t.same([e.name, e.code, e.aare.result, e.aare.diagnostic.value, e.aare.diagnostic.name], ['DlmsError', 'REJECTED', 1, 13, 'authentication-failure']);
  t.match(e.message, /rejected-permanent.*authentication-failure/);
  await t.rejects(client.get(1, '0.0.42.0.0.255', 2), { code: 'STATE' }, 'no GET without an association');
  done(t);
});

t.test('dlms-cosem client: calling-AP-title, two registers, RLRQ answered by an exception-response', async (t) => {
  const callingApTitle = hex('75746903e9890f5a');
  const { client, done } = setup('dlms-cosem-client', 0x10, { conformance: PWITAB_CONFORMANCE, callingApTitle }, 64);
  await client.associate();
  t.equal((await client.readClock()).iso, '2026-11-21T13:32:47.000Z');
  t.same(await client.readRegister('1.0.1.8.0.255'), { value: 12345678n, scaler: 0, unit: 30, unitSymbol: 'Wh', decimal: '12345678' });
  t.same(await client.readRegister('1.1.21.25.0.255'), { value: 11n, scaler: 3, unit: 30, unitSymbol: 'Wh', decimal: '11000' });
  t.same(await client.readData('0.0.42.0.0.255'), octets('GRX0000000123456'));
  const outcome = await client.release({ request: 'rlrq-with-initiate' });
  t.same(outcome, { exception: { stateError: 1, serviceError: 2, text: 'service-not-allowed / service-not-supported' } });
  done(t);
});

t.test('the unpatched server repeats the clock value: the client reads it, counts the extra bytes, goes on', async (t) => {
  const captured = '7ea01e2103dc3e27e6e700c401c100090c07ea0b15060d203000000000005a7e';
  const quirk = hex(notes['unpatched_clock_response_frame']!);
  const swap = (replies: Uint8Array[]) => replies.map((r) => (toHex(r) === captured ? quirk : r));
  for (const trailingBytes of ['ignore', 'error'] as const) {
    const { client, done } = setup('gurux-c-simple-server_pty_auth-none', 0x10, { conformance: GURUX_CONFORMANCE, trailingBytes }, 5, swap);
    await client.associate();
    await client.get(15, '0.0.40.0.0.255', 2);
    if (trailingBytes === 'ignore') {
      t.equal((await client.readClock()).iso, '2026-11-21T13:27:38.000Z');
      t.equal(client.stats.trailingBytes, 18, '09 0f + the value again');
    } else {
      await t.rejects(client.readClock(), { name: 'DlmsError', code: 'LENGTH' });
    }
    t.equal((await client.readRegister('1.0.1.8.0.255')).value, 12345678n, 'the session goes on');
    await client.readData('0.0.42.0.0.255');
    await client.release({ request: 'none' });
    done(t);
  }
});
