// SPDX-License-Identifier: Apache-2.0
// The dashboard and the landing page in real headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core). tests/check_dashboard.c
// starts the server, runs scripts/simulate.py and then this script with:
//   YIMA_URL        the server (loopback)
//   YIMA_PLAN       the simulator's plan: its scan log, owners, tokens
//   YIMA_ADMIN      an admin token
//   YIMA_CODES      two unscanned item codes, comma-separated (landing)
//   YIMA_ARTIFACTS  where screenshots go (kept after the run)
//   YIMA_NODE_MODULES  where scripts/web.sh installed playwright-core
// It prints one line per check and exits 1 on the first failure.
import fs from 'node:fs';
import path from 'node:path';
import { env, check, chromium, eq } from './common.mjs';

const base = env('YIMA_URL');
const plan = JSON.parse(fs.readFileSync(env('YIMA_PLAN'), 'utf8'));
const admin = env('YIMA_ADMIN');
const codes = env('YIMA_CODES').split(',');
const out = env('YIMA_ARTIFACTS');
fs.mkdirSync(out, { recursive: true });


async function api(p, token) {
  const r = await fetch(base + p, { headers: { Authorization: 'Bearer ' + token } });
  if (!r.ok) throw new Error(p + ': ' + r.status);
  return r.json();
}

// The counts by key, computed from the simulator's own log alone.
const counted = ['genuine', 'repeat', 'suspect'];
function fromLog(keyOf, keep) {
  const m = new Map();
  for (const s of plan.scans) {
    if (!counted.includes(s.verdict) || !keep(s)) continue;
    const k = keyOf(s);
    const c = m.get(k) || { scans: 0, genuine: 0, repeat: 0, suspect: 0 };
    c.scans++;
    c[s.verdict]++;
    m.set(k, c);
  }
  return m;
}
const ownerOf = (s) => plan.owners[String(s.serial)] || null;
function under(root, d) {
  for (let i = 0; d && i < 10; i++, d = plan.tree[d]) if (d === root) return true;
  return false;
}

// The rows of an API answer and a log count compared on their counters.
function sameCounts(rows, key, log) {
  const got = new Map(rows.map((r) => [r[key], { scans: r.scans, genuine: r.genuine, repeat: r.repeat,
    suspect: r.suspect }]));
  return eq([...got].sort(), [...log].sort());
}

// A table in the page as rows of cell texts (thousands separators dropped).
async function tableRows(page, id) {
  return page.$$eval('#' + id + ' tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
}
const n = (s) => Number(String(s).replace(/,/g, ''));

// The table shows what the API answered, row for row.
async function tableMatches(page, id, rows, key) {
  const shown = await tableRows(page, id);
  const want = rows.map((r) => [r[key], r.scans, r.genuine, r.repeat, r.suspect, r.consumers, r.claims]);
  const off = key === 'region' || key === 'sku' ? 1 : 0; // these tables have a name column
  const got = shown.map((c) => [c[0], n(c[1 + off]), n(c[2 + off]), n(c[3 + off]), n(c[4 + off]), n(c[6 + off]),
    n(c[7 + off])]);
  const norm = want.map((w) => [w[0] == null ? 'unknown' : w[0], ...w.slice(1)]);
  const gotNorm = got.map((g) => [g[0] === '未知' ? 'unknown' : g[0], ...g.slice(1)]);
  return { ok: eq(gotNorm, norm), got: gotNorm, want: norm };
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
try {
  // ---- the dashboard, as the administrator ----
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN',
    acceptDownloads: true });
  await ctx.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' +
      e.blockedURI));
  });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e.stack || e).slice(0, 3000)));
  await page.goto(base + '/dashboard');
  await page.waitForSelector('#login-form', { state: 'visible' });
  check(await page.isVisible('#login-form') && !(await page.isVisible('#dash')), 'the login form first');

  await page.fill('#token', 'yima_notatoken');
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction(() => document.getElementById('login-error').textContent !== '');
  check((await ctx.cookies()).every((c) => c.name !== 'yima_session'), 'a bad token: an error, no cookie');

  await page.fill('#token', admin);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('body[data-loaded]', { timeout: 15000 });
  const cookie = (await ctx.cookies()).find((c) => c.name === 'yima_session');
  check(cookie && cookie.httpOnly && cookie.sameSite === 'Strict', 'logged in: an HttpOnly SameSite=Strict cookie');
  check(await page.evaluate(() => document.cookie) === '', 'the page cannot read the cookie');

  const q = 'from=' + (await page.inputValue('#from')) + '&to=' + (await page.inputValue('#to'));
  const day = await api('/api/v1/reports/scans?by=day&' + q, admin);
  const region = await api('/api/v1/reports/scans?by=region&' + q, admin);
  const sku = await api('/api/v1/reports/scans?by=sku&' + q, admin);
  const dealer = await api('/api/v1/reports/scans?by=dealer&' + q, admin);

  // The API against the simulator's log, then the page against the API.
  const all = () => true;
  const logTotal = [...fromLog(() => 1, all).values()][0];
  check(logTotal && logTotal.scans > 10, 'the simulator logged scans', logTotal);
  check(sameCounts(region.rows, 'region', fromLog((s) => s.region || null, all)),
    'API by region equals the simulator log', region.rows);
  check(sameCounts(dealer.rows, 'dealer', fromLog(ownerOf, all)), 'API by dealer equals the simulator log',
    dealer.rows);
  const sum = (rows, k) => rows.reduce((a, r) => a + r[k], 0);
  check(sum(day.rows, 'scans') === logTotal.scans && sum(day.rows, 'genuine') === logTotal.genuine,
    'API by day equals the simulator log', day.rows);

  const kpi = async (k) => n(await page.textContent('#k-' + k));
  check(await kpi('scans') === logTotal.scans && await kpi('genuine') === logTotal.genuine &&
    await kpi('repeat') === logTotal.repeat && await kpi('suspect') === logTotal.suspect,
  'the totals shown equal the API and the log');
  for (const [id, ans, key] of [['t-day', day, 'day'], ['t-region', region, 'region'], ['t-sku', sku, 'sku'],
    ['t-dealer', dealer, 'dealer']]) {
    const m = await tableMatches(page, id, ans.rows, key);
    check(m.ok, 'table ' + id + ' shows the API rows', m);
  }

  // The charts: drawn (a canvas with ink; they animate in, so wait for
  // it) and fed the API's numbers.
  await page.waitForFunction(() => ['c-day', 'c-map', 'c-rank', 'c-sku'].every((id) => {
    const c = document.querySelector('#' + id + ' canvas');
    if (!c) return false;
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    for (let i = 0; i < px.length && ink <= 100; i += 4) if (px[i + 3] > 0 && (px[i] < 200 || px[i + 2] < 200)) ink++;
    return ink > 100;
  }), null, { timeout: 10000 }).catch(() => {});
  const chartData = await page.evaluate(() => {
    const get = (id) => window.echarts.getInstanceByDom(document.getElementById(id));
    const s = (id) => get(id).getOption().series.map((x) => x.data);
    return { day: s('c-day'), map: s('c-map'), rank: s('c-rank'), sku: s('c-sku'),
      canvases: ['c-day', 'c-map', 'c-rank', 'c-sku'].map((id) => {
        const c = document.querySelector('#' + id + ' canvas');
        if (!c) return 0;
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let ink = 0;
        for (let i = 0; i < px.length; i += 4) if (px[i + 3] > 0 && (px[i] < 200 || px[i + 2] < 200)) ink++;
        return ink;
      }) };
  });
  check(chartData.canvases.every((ink) => ink > 100), 'four charts drawn on canvases', chartData.canvases);
  check(chartData.day[0].reduce((a, b) => a + b, 0) === logTotal.scans, 'the day line sums to the total');
  const located = region.rows.filter((r) => r.region).reduce((a, r) => a + r.scans, 0);
  // (echarts adds the features it has no value for, without one)
  const coloured = chartData.map[0].filter((d) => d.value != null);
  check(coloured.reduce((a, d) => a + d.value, 0) === located && coloured.length > 1 &&
    coloured.every((d) => /^\d\d0000$/.test(d.name)), 'the map colours provinces by located scans', coloured);
  check(eq([...chartData.sku[0]].sort(), sku.rows.map((r) => r.scans).sort()), 'the SKU bars are the API rows');

  // A CSV download with the session cookie, equal to the JSON.
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#csv-region')]);
  const csvPath = path.join(out, 'region.csv');
  await dl.saveAs(csvPath);
  const lines = fs.readFileSync(csvPath, 'utf8').trim().split('\r\n');
  check(lines[0] === 'region,name,scans,genuine,repeat,suspect,first_scan_ratio,consumers,claims',
    'the CSV has its header', lines[0]);
  const csvRows = lines.slice(1).map((l) => l.split(','));
  check(eq(csvRows.map((c) => [c[0] || null, Number(c[2]), Number(c[3])]),
    region.rows.map((r) => [r.region, r.scans, r.genuine])), 'the CSV download equals the API', csvRows);

  const dv = await api('/api/v1/reports/diversion?' + q, admin);
  const divRows = await tableRows(page, 't-diversion');
  check(dv.events.length > 0 && divRows.length === dv.events.length &&
    divRows.every((c, i) => c[2] === String(dv.events[i].serial) && c[3].endsWith(dv.events[i].owner)),
  'the diversion table lists the API events', { shown: divRows.length, api: dv.events.length });
  // China time, and names beside codes and ids (the page is in Chinese)
  const cn = (iso) => new Date(Date.parse(iso) + 8 * 3600e3).toISOString().slice(0, 16).replace('T', ' ');
  check(divRows.every((c, i) => c[0] === cn(dv.events[i].at) &&
    (!dv.events[i].region_name || c[4] === dv.events[i].region_name + ' ' + dv.events[i].region) &&
    (!dv.events[i].owner_name || dv.events[i].owner_name === dv.events[i].owner ||
      c[3] === dv.events[i].owner_name + ' ' + dv.events[i].owner)),
  'diversion rows show China time and names', divRows.slice(0, 2));
  check(dv.events.some((e) => e.region_name), 'the API names the regions', dv.events.slice(0, 1));
  const al = await api('/api/v1/reports/alerts?' + q, admin);
  const alertItems = await page.$$eval('#alerts li', (li) => li.map((e) => e.textContent));
  check(al.alerts.length > 0 && alertItems.length === al.alerts.length, 'the alerts the API gives are listed',
    { api: al.alerts.length, shown: alertItems.length });
  check(alertItems.every((s) => /[\u4e00-\u9fff]/.test(s) && !/fell from|Goods of|suspect scans in/.test(s)),
    'alerts are sentences in Chinese', alertItems);

  // The channel funnels and league table, and the consumers' stages.
  const ch = await api('/api/v1/reports/channels?' + q, admin);
  const chRows = await tableRows(page, 't-channels');
  check(ch.rows.length > 0 && chRows.length === ch.rows.length && ch.rows.every((r, i) =>
    n(chRows[i][0]) === r.rank && chRows[i][1].endsWith(r.channel) && n(chRows[i][4]) === r.scans &&
    n(chRows[i][5]) === r.bound && n(chRows[i][6]) === r.claimed && n(chRows[i][7]) === r.repeat_buyers &&
    n(chRows[i][8]) === r.commission_points), 'the league table shows the API rows in rank', { chRows, api: ch.rows });
  const seg = await api('/api/v1/reports/segments', admin);
  const segRows = await tableRows(page, 't-segments');
  check(seg.stages.new > 0 && segRows.length === 4 && ['new', 'active', 'at_risk', 'lapsed'].every((k, i) =>
    n(segRows[i][1]) === seg.stages[k]) && segRows[0][0] === '新客', 'the stages shown are the API counts',
  { segRows, api: seg.stages });
  const more = await page.evaluate(() => {
    const get = (id) => window.echarts.getInstanceByDom(document.getElementById(id));
    return { funnel: get('c-funnel').getOption().series[0].data.map((d) => d.value),
      stages: get('c-segments').getOption().series[0].data };
  });
  check(eq(more.funnel, [ch.funnel.scans, ch.funnel.bound, ch.funnel.claimed, ch.funnel.repeat_buyers]),
    'the funnel chart is the API funnel', more.funnel);
  check(eq(more.stages, ['new', 'active', 'at_risk', 'lapsed'].map((k) => seg.stages[k])),
    'the stage chart is the API counts', more.stages);

  // The region filter, by name: the busiest city's province, then the city.
  const top = region.rows.filter((r) => /^\d{6}$/.test(r.region || '')).sort((a, b) => b.scans - a.scans)[0];
  const prov = top.region.slice(0, 2) + '0000';
  const city = top.region.slice(0, 4) + '00';
  const level = (l) => '#region-picker select[data-level=' + l + ']';
  const hasOpt = (l, v) => page.waitForFunction(([q, x]) => [...document.querySelectorAll(q + ' option')]
    .some((o) => o.value === x), [level(l), v], { timeout: 10000 });
  await hasOpt('province', prov);
  const provName = await page.$eval(level('province') + ' option[value="' + prov + '"]', (o) => o.textContent);
  check(/[\u4e00-\u9fff]/.test(provName), 'the region filter lists provinces by name', provName);
  await page.selectOption(level('province'), prov);
  await hasOpt('city', city);
  await page.selectOption(level('city'), city);
  check(await page.inputValue('#region') === city.slice(0, 4), 'a city picked by name filters by its prefix',
    { city, shown: await page.inputValue('#region') });
  const reload = async () => {
    await page.evaluate(() => { delete document.body.dataset.loaded; });
    await page.click('#range button[type=submit]');
    await page.waitForSelector('body[data-loaded]', { timeout: 15000 });
  };
  await reload();
  const inCity = await api('/api/v1/reports/scans?by=region&region=' + city.slice(0, 4) + '&' + q, admin);
  const shownCity = await tableRows(page, 't-region');
  check(inCity.rows.length > 0 && shownCity.length === inCity.rows.length &&
    shownCity.every((c) => c[0].startsWith(city.slice(0, 4))), 'the region table follows the filter',
  { shownCity, api: inCity.rows });
  await page.selectOption(level('province'), '');
  check(await page.inputValue('#region') === '', 'all regions again');
  await reload();

  await page.screenshot({ path: path.join(out, 'dashboard-1280.png'), fullPage: true });
  await page.click('#lang');
  check(await page.textContent('h1') === 'yima · distributor dashboard' &&
    await page.textContent('#t-day th') === 'Day', 'English at a click');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 390, 'no sideways scrolling at 390 px', wide);
  const tight = await page.evaluate(() => [...document.querySelectorAll('#dash table')].filter((tb) =>
    tb.offsetParent !== null && tb.scrollWidth > tb.parentElement.clientWidth + 1).map((tb) => tb.id));
  check(tight.length === 0, 'at 390 px no table hides a column off-screen', tight);
  await page.screenshot({ path: path.join(out, 'dashboard-390.png'), fullPage: true });
  // A full-page screenshot lays the page out at 1 x 1 px for a moment, as
  // can a collapsed frame: a chart must not be laid out at zero width.
  // (Resize events run before the next frame's callbacks: two frames on,
  // the handler has run.)
  const frames = (p) => p.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.setViewportSize({ width: 1, height: 1 });
  await frames(page);
  await page.setViewportSize({ width: 390, height: 844 });
  await frames(page);
  check(errors.length === 0 && await page.evaluate(() => document.querySelector('#c-map canvas').width > 0),
    'a 1 px window leaves the charts whole', errors);
  // The dashboard opened in a 1 px window draws its charts once it has room.
  const small = await ctx.newPage();
  const smallErrors = [];
  small.on('pageerror', (e) => smallErrors.push(String(e.stack || e).slice(0, 3000)));
  await small.setViewportSize({ width: 1, height: 1 });
  await small.goto(base + '/dashboard');
  await small.waitForSelector('body[data-loaded]', { state: 'attached', timeout: 15000 });
  await small.setViewportSize({ width: 390, height: 844 });
  const drawn = await small.waitForFunction(() => ['c-day', 'c-map', 'c-rank', 'c-sku'].every((id) => {
    const c = document.querySelector('#' + id + ' canvas');
    return c && c.width > 0;
  }), null, { timeout: 10000 }).then(() => true, () => false);
  const shown = await small.textContent('#error');
  check(drawn && smallErrors.length === 0 && shown === '',
    'opened in a 1 px window, the charts are drawn once there is room', { smallErrors, shown });
  await small.close();

  // ---- a dealer sees its own subtree only ----
  await page.click('#logout');
  await page.waitForSelector('#login-form', { state: 'visible' });
  check(await page.evaluate(() => document.body.dataset.loaded === undefined &&
    document.querySelectorAll('#dash td').length === 0), 'logging out clears the numbers');
  const me = plan.dealers.da;
  const dtok = plan.tokens[me];
  await page.fill('#token', dtok);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('body[data-loaded]', { timeout: 15000 });
  const mine = await api('/api/v1/reports/scans?by=dealer&' + q, dtok);
  check(sameCounts(mine.rows, 'dealer', fromLog(ownerOf, (s) => under(me, ownerOf(s)))),
    'a dealer\'s API rows are its subtree in the log', mine.rows);
  const dm = await tableMatches(page, 't-dealer', mine.rows, 'dealer');
  check(dm.ok && dm.got.length > 0, 'the dealer table shows them', dm);
  check((await page.textContent('#who')).includes(me), 'the dealer is named in the header');
  await page.screenshot({ path: path.join(out, 'dashboard-dealer-390.png'), fullPage: true });

  const csp = await page.evaluate(() => window.__csp);
  check(csp.length === 0, 'no Content-Security-Policy violations', csp);
  check(errors.length === 0, 'no script errors', errors);
  await ctx.close();

  // ---- the consumer landing page: location granted, then denied ----
  for (const [i, granted] of [[0, true], [1, false]]) {
    const c = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN',
      permissions: granted ? ['geolocation'] : [],
      geolocation: granted ? { latitude: 31.2304, longitude: 121.4737 } : undefined });
    const p = await c.newPage();
    await p.goto(base + '/c/' + codes[i]);
    await p.waitForFunction(() => /\d/.test(document.getElementById('ref').textContent), null,
      { timeout: 20000 });
    const title = await p.textContent('#vt');
    check(await p.textContent('#pn') === '青岛啤酒 500ml', 'landing: the product\'s name', await p.textContent('#pn'));
    const trace = await api('/api/v1/codes/' + codes[i] + '/trace', admin);
    const scans = trace.events.filter((e) => e.type === 'scan');
    check(title.length > 0 && scans.length === 1, 'landing (' + (granted ? 'granted' : 'denied') +
      '): verdict "' + title + '" and one scan recorded', trace.events);
    const reg = scans[0].region;
    check(granted ? reg === '310100' : reg == null, 'landing (' + (granted ? 'granted' : 'denied') +
      '): region ' + reg, scans[0]);
    await p.screenshot({ path: path.join(out, 'landing-' + (granted ? 'granted' : 'denied') + '.png'),
      fullPage: true });
    await c.close();
  }

  // ---- the SKU those bottles are: named by its product (zh: its own name) ----
  const c = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
  const p = await c.newPage();
  await p.goto(base + '/dashboard');
  await p.fill('#token', admin);
  await p.click('#login-form button[type=submit]');
  await p.waitForSelector('body[data-loaded]', { timeout: 15000 });
  const skus = (await api('/api/v1/reports/scans?by=sku&' + q, admin)).rows;
  const named = skus.find((r) => r.sku && r.name);
  check(named && named.names.en === 'Tsingtao 500ml' &&
    (await tableRows(p, 't-sku')).some((r) => r[0] === named.sku && r[1] === '青岛啤酒 500ml'),
  'the SKU table names the product', skus);
  await c.close();
} finally {
  await browser.close();
}
console.log('browser: all checks passed; screenshots in ' + out);
