// Drives headless Chromium (Debian's /usr/bin/chromium) through
// playwright-core for netpoll/clients_test.go.
//
// Usage: node browser.mjs <page-url>
//
// Opens the page (page.html, served by the test from another origin than
// Sluice), waits until its WebSocket is subscribed and its EventSource open,
// prints {"ready":…}, then waits for both to receive an update and prints
// {"results":…}. Exits non-zero with {"error":…} on failure.
import { chromium } from 'playwright-core';

const [pageURL] = process.argv.slice(2);
const out = (v) => process.stdout.write(JSON.stringify(v) + '\n');

const browser = await chromium.launch({
  executablePath: process.env.SLUICE_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let page;
try {
  page = await browser.newPage();
  page.on('console', (m) => process.stderr.write('console: ' + m.text() + '\n'));
  await page.goto(pageURL);
  // Any error ends a wait at once: the test then reports the page's state.
  await page.waitForFunction(() => results.errors.length > 0 || (results.wsSynced && results.sseOpen), null, { timeout: 15000 });
  out({ ready: await page.evaluate(() => results) });
  await page.waitForFunction(() => results.errors.length > 0 || (results.ws.length > 0 && results.sse.length > 0), null, { timeout: 15000 });
  out({ results: await page.evaluate(() => results) });
} catch (err) {
  let state = null;
  try { state = page && await page.evaluate(() => window.results); } catch (_) { /* page gone */ }
  out({ error: String(err && err.message), state });
  process.exitCode = 1;
} finally {
  await browser.close();
}
