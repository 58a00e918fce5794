// Screenshots of a study report for the README: the τ table and the plots section, taken in Debian's
// headless Chromium. Usage: node scripts/report-screenshot.mjs REPORT_DIR OUT_PREFIX
import { chromium } from 'playwright-core';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const [dir, prefix] = process.argv.slice(2);
if (!dir || !prefix) {
  console.error('usage: node scripts/report-screenshot.mjs REPORT_DIR OUT_PREFIX');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.ROBUSTA_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(pathToFileURL(join(dir, 'index.html')).href, { waitUntil: 'load' });
  await page.locator('#tau-table').screenshot({ path: `${prefix}-tau.png` });
  await page.screenshot({ path: `${prefix}-page.png`, fullPage: false });
  console.log(`${prefix}-tau.png ${prefix}-page.png`);
} finally {
  await browser.close();
}
