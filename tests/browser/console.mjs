// SPDX-License-Identifier: Apache-2.0
// The brand's console in real headless Chromium, driven as a brand admin
// would drive it, at 1280 px and at 390 px; every result is checked
// through the API. tests/check_dashboard.c starts the server, seeds two
// held claims and a pending payout, and runs this with:
//   YIMA_URL, YIMA_ADMIN (a token, for the API checks), YIMA_STAFF
//   ("name:password" of an admin staff account), YIMA_GTIN, YIMA_CHANNEL
//   (an unbound channel code), YIMA_MANIFESTS (two batches' manifest.json
//   paths, comma-separated, not imported), YIMA_ARTIFACTS,
//   YIMA_NODE_MODULES.
// It prints one line per check and exits 1 on the first failure.
import fs from 'node:fs';
import path from 'node:path';
import { env, check, chromium, eq } from './common.mjs';

const base = env('YIMA_URL');
const admin = env('YIMA_ADMIN');
const [staffName, staffPass] = env('YIMA_STAFF').split(':');
const gtin = env('YIMA_GTIN');
const channel = env('YIMA_CHANNEL');
const manifests = env('YIMA_MANIFESTS').split(',');
const out = env('YIMA_ARTIFACTS');
fs.mkdirSync(out, { recursive: true });

async function api(p) {
  const r = await fetch(base + p, { headers: { Authorization: 'Bearer ' + admin } });
  if (!r.ok) throw new Error(p + ': ' + r.status);
  return r.json();
}

/* Goes to a page of the console and waits until it is drawn. */
async function open(page, name) {
  const before = await page.evaluate(() => document.body.dataset.drawn || '');
  await page.evaluate((n) => { location.hash = n; }, name);
  await page.waitForFunction(([n, b]) => document.body.dataset.page === n && document.body.dataset.drawn !== b,
    [name, before], { timeout: 10000 });
}
/* Submits the page's form n (0 first) and waits for its answer. */
async function submit(page, form) {
  await page.evaluate((f) => {
    for (const e of f.querySelectorAll('.err, .ok')) e.textContent = '';
  }, form);
  await (await form.$('button[type=submit]')).click();
  await page.waitForFunction((f) => [...f.querySelectorAll('.err, .ok')].some((e) => e.textContent !== ''),
    form, { timeout: 10000 });
}
const formOf = async (page, title) => page.evaluateHandle((t) => [...document.querySelectorAll('#page form')]
  .find((f) => (f.querySelector('h3') || {}).textContent === t), title);
const textOf = (page, sel) => page.textContent(sel);
/* Waits for the table row that shows text to show cell too. */
const waitRow = (page, text, cell) => page.waitForFunction(([x, c]) => [...document.querySelectorAll('#page tbody tr')]
  .some((r) => [...r.cells].some((d) => d.textContent === x) && [...r.cells].some((d) => d.textContent === c)),
[text, cell], { timeout: 10000 });
/* Clicks the button labelled label in the table row that shows text. */
async function clickIn(page, text, label) {
  const tr = await page.evaluateHandle((x) => [...document.querySelectorAll('#page tbody tr')]
    .find((r) => [...r.cells].some((c) => c.textContent === x)), text);
  await (await tr.$('button:text("' + label + '")')).click();
}

/* Every page at this width, seen once: no horizontal scroll, a screenshot. */
async function allPages(page, width, tag) {
  for (const name of ['products', 'campaigns', 'dealers', 'channels', 'batches', 'claims', 'payouts', 'tokens',
    'staff']) {
    await open(page, name);
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    check(w <= width, tag + ' ' + name + ': nothing off-screen (' + w + ' px)', w);
    await page.screenshot({ path: path.join(out, 'console-' + name + '-' + width + '.png'), fullPage: true });
  }
}

let current = null;	/* the page, for a look at it when a step fails */
const calls = [];	/* the page's API calls, shown when a step fails */

async function session(browser, width, locale) {
  const ctx = await browser.newContext({ viewport: { width, height: 900 }, locale });
  await ctx.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' +
      e.blockedURI));
  });
  const page = await ctx.newPage();
  current = page;
  page.on('response', (r) => {
    if (r.url().includes('/api/')) calls.push(r.request().method() + ' ' + r.url().replace(base, '') + ' ' + r.status());
  });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e.stack || e).slice(0, 2000)));
  await page.goto(base + '/console');
  await page.waitForSelector('#login-form', { state: 'visible' });
  return { ctx, page, errors };
}

async function login(page) {
  await page.fill('#l-name', staffName);
  await page.fill('#l-password', staffPass);
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction(() => document.body.dataset.page === 'products', null, { timeout: 10000 });
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
try {
  // ---- 1280 px, in Chinese ----
  let { ctx, page, errors } = await session(browser, 1280, 'zh-CN');
  await page.fill('#l-name', staffName);
  await page.fill('#l-password', 'not the password');
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction(() => document.getElementById('login-error').textContent !== '');
  check(await page.isVisible('#login-form'), 'a wrong password: still the login form');
  await login(page);
  check(await textOf(page, 'h1') === '一物一码 · 品牌控制台', 'logged in as staff, in Chinese');

  // Products: a refused save shows the API's message by the field, and keeps what was typed.
  let f = await formOf(page, '编辑');
  await page.fill('#page [data-f=gtin]', '06901234567893');
  await page.fill('#page [data-f=name]', '青岛啤酒 500ml');
  await page.fill('#page [data-f=brand]', '青岛啤酒');
  await submit(page, f);
  const gErr = await page.evaluate(() => document.querySelector('[data-f=gtin]').parentElement
    .querySelector('.err').textContent);
  check(gErr !== '' && await page.inputValue('#page [data-f=name]') === '青岛啤酒 500ml',
    'a bad GTIN: its message by the field, the name kept', gErr);
  await page.fill('#page [data-f=gtin]', gtin);
  await page.fill('#page [data-f=image_url]', '/dashboard/bottle.svg');
  await submit(page, f);
  await page.waitForFunction((g) => [...document.querySelectorAll('#page td')].some((td) => td.textContent === g),
    gtin, { timeout: 10000 });
  const prod = await api('/api/v1/products/' + gtin);
  check(prod.name === '青岛啤酒 500ml' && prod.brand === '青岛啤酒', 'a product made in the console', prod);

  // A campaign with a prize and two variants; first a wrong weight.
  const before = (await api('/api/v1/admin/campaigns')).campaigns.length;
  await open(page, 'campaigns');
  f = await formOf(page, '创建');
  await page.fill('#page [data-f=name]', '春节 A/B');
  await page.fill('#page [data-f=start]', '2026-01-01T00:00');
  await page.fill('#page [data-f=end]', '2030-01-01T00:00');
  await page.selectOption('#page [data-f=claim_kind]', 'item');
  await page.fill('#page [data-f=points]', '10');
  await page.fill('#page [data-f=gtins]', gtin);
  await page.click('text=添加奖品');
  await page.fill('#page [data-f="prizes[0].name"]', '红包');
  await page.fill('#page [data-f="prizes[0].amount"]', '88');
  await page.fill('#page [data-f="prizes[0].count"]', '100');
  await page.fill('#page [data-f="prizes[0].probability"]', '1');
  await page.click('text=添加方案');
  await page.click('text=添加方案');
  await page.fill('#page [data-f="variants[0].name"]', 'A');
  await page.fill('#page [data-f="variants[0].weight"]', '50');
  await page.fill('#page [data-f="variants[0].landing.headline"]', '扫码领红包');
  await page.fill('#page [data-f="variants[1].name"]', 'B');
  await page.fill('#page [data-f="variants[1].weight"]', '40');
  await page.fill('#page [data-f="variants[1].points"]', '20');
  await submit(page, f);
  const vErr = await page.evaluate(() => document.querySelector('.rows[data-f=variants]').nextElementSibling
    .textContent);
  check(vErr.startsWith('"variants"') && await page.inputValue('#page [data-f="variants[0].landing.headline"]') ===
    '扫码领红包', 'weights that miss 100: the message under the variants, nothing lost', vErr);
  check((await api('/api/v1/admin/campaigns')).campaigns.length === before, 'and no campaign was made');
  await page.fill('#page [data-f="variants[1].weight"]', '50');
  await submit(page, f);
  await page.waitForFunction(() => [...document.querySelectorAll('#page td')].some((td) => td.textContent ===
    '春节 A/B'), null, { timeout: 10000 });
  const mine = async () => (await api('/api/v1/admin/campaigns')).campaigns.filter((c) => c.name === '春节 A/B');
  let camps = await mine();
  check(camps.length === 1 && camps[0].variants.length === 2 && camps[0].variants[1].points === 20 &&
    camps[0].prizes[0].amount === 88 && camps[0].variants[0].landing.headline === '扫码领红包' &&
    Date.parse(camps[0].start) === Date.parse('2026-01-01T00:00:00+08:00'),
  'a campaign with a prize and two variants, its times in China time', camps);
  await clickIn(page, '春节 A/B', '暂停');
  await waitRow(page, '春节 A/B', '已暂停');
  check((await mine())[0].status === 'paused', 'paused from the console');
  await clickIn(page, '春节 A/B', '恢复');
  await waitRow(page, '春节 A/B', '进行中');
  await clickIn(page, '春节 A/B', '实验报告');
  await page.waitForSelector('#winner');
  check(await textOf(page, '#winner') === '暂无显著差异', 'the experiment report, no winner yet');

  // Dealers: a distributor and its store, moved; a territory.
  await open(page, 'dealers');
  f = await formOf(page, '创建');
  for (const [id, name, type] of [['C-DIST', '华东总经销', 'distributor'], ['C-SHOP', '西湖店', 'store']]) {
    await page.fill('#page [data-f=id]', id);
    await page.fill('#page [data-f=name]', name);
    await page.selectOption('#page [data-f=type]', type);
    await submit(page, f);
    await page.waitForFunction((i) => [...document.querySelectorAll('#page td')].some((td) => td.textContent === i),
      id, { timeout: 10000 });
    f = await formOf(page, '创建');
  }
  const row = await page.evaluateHandle(() => [...document.querySelectorAll('#page tbody tr')]
    .find((tr) => tr.cells[1].textContent === 'C-SHOP'));
  await (await row.$('select')).selectOption('C-DIST');
  await (await row.$('button')).click();
  await page.waitForFunction(() => [...document.querySelectorAll('#page td')].some((td) => td.textContent ===
    '— 西湖店'), null, { timeout: 10000 });
  const ds = (await api('/api/v1/admin/dealers')).dealers;
  check(ds.find((d) => d.id === 'C-SHOP').parent === 'C-DIST', 'a store moved under its distributor', ds);
  // The territory: two cities picked by name, a province on the map.
  f = await formOf(page, '设置区域');
  const tf = '#page form:last-of-type ';
  await page.selectOption(tf + '[data-f=dealer]', 'C-DIST');
  const pick = async (level, name) => {
    const sel = tf + 'select[data-level=' + level + ']';
    await page.waitForFunction(([q, n]) => [...document.querySelectorAll(q + ' option')]
      .some((o) => o.textContent === n), [sel, name], { timeout: 10000 });
    await page.selectOption(sel, { label: name });
  };
  const chips = () => page.$$eval(tf + '.chips li', (li) => li.map((e) => e.dataset.code));
  await pick('province', '江苏省');
  await pick('city', '南京市');
  await page.click(tf + '.region-list > button');
  await pick('province', '浙江省');
  await pick('city', '杭州市');
  check(await page.$eval(tf + 'select[data-level=county]', (s) => s.hidden),
    'no county offered: without county shapes no scan is placed in one');
  await page.click(tf + '.region-list > button');
  await page.waitForFunction((q) => document.querySelectorAll(q).length === 2 &&
    document.querySelector(q + '[data-code="3301"]').textContent.startsWith('浙江省 杭州市'),
  tf + '.chips li', { timeout: 10000 });
  check(eq(await chips(), ['3201', '3301']), 'two cities picked by name', await chips());
  // Zhejiang clicked on the map takes in its city.
  await page.waitForFunction(() => document.getElementById('territory-map').dataset.painted !== undefined,
    null, { timeout: 10000 });
  const at = await page.evaluate(() => {
    const box = document.getElementById('territory-map');
    box.scrollIntoView();
    const xy = window.echarts.getInstanceByDom(box).convertToPixel({ seriesIndex: 0 }, [120.0, 29.2]);
    const r = box.getBoundingClientRect();
    return [r.left + xy[0], r.top + xy[1]];
  });
  await page.mouse.click(at[0], at[1]);
  await page.waitForFunction((q) => document.querySelector(q + '[data-code="33"]') !== null, tf + '.chips li',
    { timeout: 10000 });
  check(eq(await chips(), ['3201', '33']), 'a province clicked on the map, its city folded in', await chips());
  check(await page.$eval('#territory-map', (e) => e.dataset.painted) === '3201,33', 'the map shows the territory');
  await submit(page, f);
  check(await page.evaluate((x) => x.querySelector('.actions .ok').textContent, f) !== '',
    'a territory set in the console');
  const terr = await api('/api/v1/admin/dealers/C-DIST/territory');
  check(eq(terr.regions.map((r) => r.code), ['3201', '33']) && terr.regions[1].name === '浙江省',
    'the territory stored, named', terr);
  await page.selectOption(tf + '[data-f=dealer]', 'C-SHOP');
  await page.waitForFunction((q) => document.querySelector(q).textContent.includes('C-DIST'),
    tf + '.fields + .hint', { timeout: 10000 });
  check(eq(await chips(), []), 'a store under it inherits the territory, shown as such');

  // A channel code bound to the store.
  await open(page, 'channels');
  f = await formOf(page, '绑定');
  await page.fill('#page [data-f=code]', channel);
  await page.selectOption('#page [data-f=dealer]', 'C-SHOP');
  await page.fill('#page [data-f=name]', '西湖店收银台');
  await submit(page, f);
  check((await textOf(page, '#page .actions .ok')).startsWith('已绑定'), 'a channel code bound');
  const qrOk = await page.waitForFunction(() => {
    const i = document.getElementById('channel-qr');
    return i && i.complete && i.naturalWidth > 0;
  }, null, { timeout: 10000 }).then(() => true, () => false);
  check(qrOk, 'its QR code shown');

  // Batches: import a manifest, revoke it with a reason.
  await open(page, 'batches');
  f = await formOf(page, '导入');
  await (await page.$('#page [data-f=manifest]')).setInputFiles(manifests[0]);
  await submit(page, f);
  const imported = await page.evaluate((x) => x.querySelector('.actions .ok').textContent, f);
  const batchId = (imported.match(/[0-9a-f]{32}/) || [''])[0];
  check(batchId.length === 32, 'a batch imported from its manifest', imported);
  await waitRow(page, batchId, '撤销');
  f = await formOf(page, '撤销批次');
  await page.fill('#page [data-f=batch]', batchId);
  await page.fill('#page [data-f=reason]', '印刷错误');
  await submit(page, f);
  check(await page.evaluate((x) => x.querySelector('.actions .ok').textContent, f) === '已撤销',
    'the batch revoked with a reason');
  await waitRow(page, batchId, '部分已撤销');
  check((await api('/api/v1/admin/batches')).batches.find((b) => b.batch === batchId).revoked,
    'the batch list shows it revoked');

  // Held claims: release one, reject the other.
  await open(page, 'claims');
  const held = (await api('/api/v1/admin/claims?status=held')).claims;
  check(held.length === 2, 'two held claims to review', held);
  const rows = await page.$$('#page tbody tr');
  for (const [i, how] of [[0, '放行发放'], [1, '驳回']]) {
    await (await rows[i].$('input')).fill(i ? '同一码多人扫' : '核实为高铁出行');
    await (await rows[i].$('button:text("' + how + '")')).click();
    await page.waitForFunction((tr) => tr.querySelector('.review .ok').textContent !== '', rows[i],
      { timeout: 10000 });
  }
  const reviewed = (await api('/api/v1/admin/claims')).claims;
  check(reviewed.filter((c) => c.status === 'granted').length === 2 &&
    reviewed.filter((c) => c.status === 'rejected').length === 1, 'one released, one rejected', reviewed);

  // Payouts: mark the pending one paid.
  await open(page, 'payouts');
  const pend = (await api('/api/v1/admin/payouts?status=pending')).payouts;
  check(pend.length === 1, 'one payout pending', pend);
  await page.check('#page tbody input[type=checkbox]');
  await page.click('#page button:text("标记已发放")');
  await page.waitForFunction(() => document.body.dataset.page === 'payouts' &&
    [...document.querySelectorAll('#page td')].some((td) => td.textContent === '暂无'), null, { timeout: 10000 });
  check((await api('/api/v1/admin/payouts?status=paid')).payouts.length === 1, 'the payout marked paid');

  // Tokens: one made (shown once), then revoked.
  await open(page, 'tokens');
  f = await formOf(page, '创建');
  await page.fill('#page [data-f=name]', '包装线 3');
  await submit(page, f);
  await page.waitForSelector('#new-token');
  const secret = await textOf(page, '#new-token');
  check(/^yima_[A-Za-z0-9_-]{43}$/.test(secret), 'a token shown once');
  let toks = (await api('/api/v1/admin/tokens')).tokens;
  const made = toks.find((x) => x.name === '包装线 3');
  check(made && made.role === 'ops' && !made.revoked, 'listed, without its secret', toks);
  const trow = await page.evaluateHandle((id) => [...document.querySelectorAll('#page tbody tr')]
    .find((tr) => tr.cells[0].textContent === String(id)), made.id);
  await (await trow.$('button')).click();
  await page.waitForFunction((id) => [...document.querySelectorAll('#page tbody tr')]
    .some((tr) => tr.cells[0].textContent === String(id) && tr.cells[5].textContent === '已撤销'), made.id,
  { timeout: 10000 });
  toks = (await api('/api/v1/admin/tokens')).tokens;
  check(toks.find((x) => x.id === made.id).revoked, 'the token revoked');

  await allPages(page, 1280, '1280');
  check(await page.evaluate(() => window.__csp.length) === 0, 'no CSP violation at 1280',
    await page.evaluate(() => window.__csp));
  check(errors.length === 0, 'no script error at 1280', errors);
  await ctx.close();

  // ---- 390 px, in English: a second batch imported, every page seen ----
  ({ ctx, page, errors } = await session(browser, 390, 'en-US'));
  await login(page);
  check(await textOf(page, 'h1') === 'yima · brand console', 'English on an English phone');
  await open(page, 'batches');
  f = await formOf(page, 'Import');
  await (await page.$('#page [data-f=manifest]')).setInputFiles(manifests[1]);
  await submit(page, f);
  check((await page.evaluate((x) => x.querySelector('.actions .ok').textContent, f)).startsWith('Imported'),
    'a batch imported at 390 px');
  await allPages(page, 390, '390');
  const labelled = await page.evaluate(() => [...document.querySelectorAll('#page td')].every((td) =>
    td.colSpan > 1 || td.dataset.label !== undefined));
  check(labelled, 'every cell carries its column name on a phone');
  check(await page.evaluate(() => window.__csp.length) === 0, 'no CSP violation at 390');
  check(errors.length === 0, 'no script error at 390', errors);
  await page.click('#logout');
  await page.waitForSelector('#login-form', { state: 'visible' });
  check((await ctx.cookies()).every((c) => c.name !== 'yima_session' || c.value === ''), 'logged out');
  await ctx.close();
  console.log('all checks passed');
} catch (e) {
  if (current) {
    await current.screenshot({ path: path.join(out, 'console-failed.png'), fullPage: true }).catch(() => {});
    console.log('FAIL at ' + current.url() + ': ' + (await current.evaluate(() =>
      document.getElementById('page').innerText).catch(() => '?')).slice(0, 3000));
    console.log('the last API calls:\n' + calls.slice(-12).join('\n'));
  }
  throw e;
} finally {
  await browser.close();
}
