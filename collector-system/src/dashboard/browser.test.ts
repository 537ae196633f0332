// The dashboard in a real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core; no
// browser download): log in, see the meters, open the run that found the insider's edit, see it located —
// with screenshots written to a temp dir and checked (PNG signature, size, dimensions).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { METERS, OPERATOR, startScenario } from './test-scenario.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Width and height from a PNG's IHDR chunk (PNG spec §11.2.2), after checking the signature. */
function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (!sig.every((b, i) => bytes[i] === b)) throw new Error('not a PNG');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

t.test('an operator logs in, sees the meters and the located tampered reading', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (CI installs Debian's chromium)` }, async (t) => {
  const { chromium } = await import('playwright-core');
  const s = await startScenario(t);
  const [edit] = s.tampered;
  const shots = join(s.dir, 'screenshots');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'], timeout: 60_000 });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  page.setDefaultTimeout(30_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });

  await page.goto(`${s.dashboardUrl}/runs`);
  t.match(page.url(), /\/login$/, 'unauthenticated: sent to the login page');
  await page.fill('input[name=user]', OPERATOR.name);
  await page.fill('input[name=password]', OPERATOR.password);
  await Promise.all([page.waitForURL(`${s.dashboardUrl}/`), page.click('#login button')]);
  const metersText = await page.locator('#meters').innerText();
  for (const m of METERS) t.match(metersText, m, `meter ${m} listed`);
  await page.screenshot({ path: join(shots, 'meters.png'), fullPage: true });

  await page.click(`a[href="/meters/${METERS[0]}"]`);
  t.equal(await page.locator('svg polyline').count(), 1, 'the consumption chart is drawn');
  await page.screenshot({ path: join(shots, 'meter.png'), fullPage: true });

  await page.click('header a[href="/runs"]');
  await page.click(`a[href="/runs/${s.report.id}"]`);
  const row = page.locator('tr.divergence', { hasText: edit!.meterId });
  t.equal(await row.count(), 1, 'one divergence row for the edited meter');
  const cells = await row.locator('td').allInnerTexts();
  t.same(cells.slice(0, 3), [edit!.meterId, String(edit!.seq), 'tampered'], 'located: meter, seq, kind');
  t.match(cells[3], /values: 1\.0\.1\.8\.0\.255 = /);
  t.match(cells[4], /^[0-9a-f]{64}$/, 'the ledger-side hash');
  await page.selectOption('#kind-filter', 'missing');
  t.equal(await row.isVisible(), false, 'the inline filter hides other kinds');
  await page.selectOption('#kind-filter', 'tampered');
  t.equal(await row.isVisible(), true);
  const runShot = join(shots, 'run.png');
  await page.screenshot({ path: runShot, fullPage: true });

  for (const name of ['meters.png', 'meter.png', 'run.png']) {
    const png = readFileSync(join(shots, name));
    const { width, height } = pngSize(png);
    t.ok(png.length > 10_000, `${name} is a non-trivial PNG (${png.length} bytes)`);
    t.equal(width, 1200, `${name} width`);
    t.ok(height >= 800, `${name} height ${height}`);
  }
  const text = await page.locator('main').innerText();
  t.match(text, `${s.report.items.length} divergences located`);
  t.match(text, new RegExp(`${edit!.meterId}\\s+${edit!.seq}\\s+tampered`), 'the page text shows the located divergence');
  t.same(errors, [], 'no script or CSP errors in the page');
  t.comment(`screenshots in ${shots}`);
});
