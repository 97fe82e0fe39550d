// SPDX-License-Identifier: Apache-2.0
// A consumer's own page in headless Chromium, on a phone: they scan a
// bottle (the landing page), follow its link to /me, see the points the
// API says, redeem a catalogue item, download their data and erase it.
// tests/check_dashboard.c runs it with YIMA_URL, YIMA_CODE (an unscanned
// bottle of a campaign paying 50 points), YIMA_ITEM (a 30-point catalogue
// item's name), YIMA_ARTIFACTS and YIMA_NODE_MODULES.
import fs from 'node:fs';
import path from 'node:path';
import { env, check, chromium } from './common.mjs';

const base = env('YIMA_URL');
const out = env('YIMA_ARTIFACTS');
fs.mkdirSync(out, { recursive: true });

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
try {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN',
    acceptDownloads: true });
  await ctx.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective));
  });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e).slice(0, 500)));
  await page.goto(base + '/c/' + env('YIMA_CODE'));
  await page.waitForFunction(() => !document.getElementById('rc').hidden, null, { timeout: 15000 });
  check(await page.textContent('#mine') === '我的积分、奖品与数据', 'the landing page links to the consumer\'s page');
  await page.click('#mine');
  await page.waitForSelector('body[data-loaded]', { timeout: 15000 });
  const me = () => page.evaluate(async () => {
    const r = await fetch('/api/v1/consumers/me', { credentials: 'same-origin' });
    return r.ok ? r.json() : { status: r.status };
  });
  let api = await me();
  check(api.points === 50 && await page.textContent('#points') === '50' &&
    await page.textContent('#tier') === '会员', 'their points and tier, as the API has them', api);
  check((await page.textContent('#next')).includes('白银'), 'what the next tier needs', await page.textContent('#next'));
  const item = env('YIMA_ITEM');
  await page.click('#shop li:has-text("' + item + '") button');
  await page.waitForFunction(() => document.getElementById('shop-msg').textContent !== '');
  await page.waitForFunction(() => document.getElementById('points').textContent === '20');
  api = await me();
  check(api.points === 20 && api.history.some((h) => h.kind === 'redemption' && h.amount === -30),
    'a catalogue item redeemed: 30 points spent once', api);
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  const file = path.join(out, 'me-export.json');
  await dl.saveAs(file);
  const data = JSON.parse(fs.readFileSync(file, 'utf8'));
  check(data.points === 20 && data.scans.length >= 1 && data.lifecycle && data.lifecycle.stage === 'new',
    'their data downloaded, their stage with it', data);
  await page.screenshot({ path: path.join(out, 'me-390.png'), fullPage: true });
  check(await page.isDisabled('#erase'), 'erasing waits for the confirmation');
  await page.check('#confirm');
  await page.click('#erase');
  await page.waitForSelector('body[data-erased]');
  check(await page.textContent('#erase-msg') === '已删除。', 'erased at their word');
  check((await me()).status >= 400, 'and the id is gone', await me());
  check(await page.evaluate(() => window.__csp.length) === 0 && errors.length === 0,
    'no CSP violation or script error', errors);
  await ctx.close();
  console.log('all checks passed');
} finally {
  await browser.close();
}
