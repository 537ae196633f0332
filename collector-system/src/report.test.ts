// Report export (report.ts): JSON as stored, CSV per RFC 4180 with one row per divergence.
import t from 'tap';
import { exportReport, progressBar, reportCsv, type Report } from './report.js';

const report: Report = {
  id: 'r-20261121T120000000Z-00000000',
  startedAt: '2026-11-21T12:00:00.000Z',
  finishedAt: '2026-11-21T12:00:01.000Z',
  checkpoint: { origin: 'o', size: '5', rootHex: '00'.repeat(32) },
  counts: { matched: 3, tampered: 1, missing: 1, unanchored: 0, conflicts: 0, pending: 0 },
  items: [
    { meterId: 'M-1', seq: '2', outcome: 'tampered', collectedHash: 'aa', ledgerHash: 'bb', collected: { meterTimeMs: null, agentTimeMs: '1', status: 0, registers: [{ obis: '1.0.1.8.0.255', value: '99', scaler: 0, unit: 'Wh' }] } },
    { meterId: 'M-1', seq: '4', outcome: 'missing', ledgerHash: 'cc', detail: 'a "quoted", comma\nline' },
  ],
  outcome: 'divergent',
};

t.test('CSV: a header, one row per item, fields quoted only when needed, CRLF line ends', async (t) => {
  const csv = reportCsv(report);
  const lines = csv.split('\r\n');
  t.equal(lines[0], 'meterId,seq,outcome,collectedHash,ledgerHash,detail,collected,delivered,lastSeq,reason,signer,corrected,period');
  t.match(lines[1], /^M-1,2,tampered,aa,bb,,"\{""meterTimeMs"":null,.*""value"":""99"".*\}",,,,,,$/);
  t.equal(lines[2], 'M-1,4,missing,,cc,"a ""quoted"", comma\nline",,,,,,,');
  t.equal(lines[3], '');
  t.equal(exportReport(report, 'csv'), csv);
});

t.test('JSON export is the report itself', async (t) => {
  t.same(JSON.parse(exportReport(report, 'json')), report);
});

t.test('progress bar: proportional, bounded, names the meter', async (t) => {
  t.equal(progressBar({ metersDone: 1, metersTotal: 4, readingsDone: 10, meterId: 'M-1' }, 8), '[##......] 1/4 meters  10 readings  M-1');
  t.equal(progressBar({ metersDone: 0, metersTotal: 0, meterId: 'x' }, 4), '[####] 0/0 meters  x');
});
