/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The distributor dashboard. It logs in by trading a token for an
 * HttpOnly session cookie (the page never keeps the token), then reads
 * the report API with that cookie. No inline script: the CSP is 'self'.
 */
'use strict';

const T = {
  zh: {
    title: '一物一码 · 经销商看板', token: '访问令牌', login: '登录', logout: '退出',
    token_hint: '令牌由管理员用 yima-scanapi token 创建。', from: '开始', to: '结束',
    region: '地区', all_regions: '全部地区', province: '省', city: '市', county: '区县', apply: '查询', scans: '扫码', genuine: '首次扫码', repeat: '重复扫码',
    suspect: '可疑', claims: '领奖', ratio: '首扫率', consumers: '消费者', by_day: '每日扫码',
    by_region: '地区分布', ranked: '地区排名', by_sku: '产品 (SKU)', by_dealer: '经销商',
    diversion: '窜货', alerts: '预警', table: '数据表', csv: '下载 CSV', day: '日期',
    name: '名称', sku: 'SKU', dealer: '经销商', at: '时间', direction: '方向',
    outgoing: '本方货流出', incoming: '他方货流入', serial: '序号', owner: '货主',
    evidence: '证据', level: '级别', consumer: '消费者扫码', store: '门店收货', unverified: '未核实的收货', other: '其他 (人数过少的区域)',
    uncertain: '(边界附近)', none: '无', bad_token: '令牌无效', no_charts: '图表组件未安装 (scripts/setup.sh)',
    falling_trend: '扫码下降', suspect_spike: '可疑码激增', unknown: '未知',
    as_of: '数据截至', failed: '读取失败', admin: '管理员', ops: '运营',
    latest: '显示最近 {n} 条，共 {total} 条 (CSV 最多 10,000 条)',
    fall_s: '{place} 的扫码从 {p} 降到 {c}（{pct}%）',
    spike_s: '{place} 出现 {c} 次可疑扫码（此前 {p} 次）',
    div_s: '{owner} 的货在其区域外被扫：消费者 {c} 次，门店 {s} 次（未核实 {u} 次）',
    channels: '渠道转化', segments: '消费者生命周期', rank: '排名', channel: '渠道码', type: '类型',
    bound: '绑定消费者', claimed: '领奖消费者', repeat_buyers: '复购消费者', commission_points: '佣金 (积分)',
    claim_rate: '领奖率', store_t: '门店', staff_t: '导购', dealer_t: '经销商', stage: '阶段', tier: '等级',
    new: '新客', active: '活跃', at_risk: '流失风险', lapsed: '已流失', member: '会员', silver: '白银',
    gold: '黄金', diamond: '钻石', moves: '本月变化'
  },
  en: {
    title: 'yima · distributor dashboard', token: 'Access token', login: 'Log in', logout: 'Log out',
    token_hint: 'An administrator creates tokens with yima-scanapi token.', from: 'From', to: 'To',
    region: 'Region', all_regions: 'All regions', province: 'Province', city: 'City', county: 'County', apply: 'Show', scans: 'Scans', genuine: 'First scans', repeat: 'Repeat scans',
    suspect: 'Suspect', claims: 'Claims', ratio: 'First-scan ratio', consumers: 'Consumers',
    by_day: 'Scans per day', by_region: 'Scans by region', ranked: 'Regions ranked', by_sku: 'By SKU',
    by_dealer: 'By dealer', diversion: 'Diversion', alerts: 'Alerts', table: 'Table', csv: 'CSV download',
    day: 'Day', name: 'Name', sku: 'SKU', dealer: 'Dealer', at: 'At', direction: 'Direction',
    outgoing: 'own goods out', incoming: 'others\' goods in', serial: 'Serial', owner: 'Owner',
    evidence: 'Evidence', level: 'Level', consumer: 'consumer scan', store: 'store receipt', unverified: 'unverified receipt', other: 'other (too few consumers)',
    uncertain: '(near a border)', none: 'None', bad_token: 'That token is not valid',
    no_charts: 'Charts are not installed (scripts/setup.sh)', falling_trend: 'Falling scans',
    suspect_spike: 'Suspect spike', unknown: 'unknown', as_of: 'Data as of', failed: 'Could not read',
    admin: 'administrator', ops: 'operations',
    latest: 'Showing the latest {n} of {total} events (the CSV: up to 10,000)',
    fall_s: 'Scans in {place} fell from {p} to {c} ({pct}%)',
    spike_s: '{c} suspect scans in {place} (against {p} before)',
    div_s: 'Goods of {owner} scanned outside its territory: {c} by consumers, {s} by stores ({u} unverified)',
    channels: 'Channel funnels', segments: 'Consumer lifecycle', rank: 'Rank', channel: 'Channel code', type: 'Type',
    bound: 'Consumers bound', claimed: 'Who claimed', repeat_buyers: 'Bought again', commission_points: 'Commission (points)',
    claim_rate: 'Claim rate', store_t: 'store', staff_t: 'salesperson', dealer_t: 'dealer', stage: 'Stage', tier: 'Tier',
    new: 'new', active: 'active', at_risk: 'at risk', lapsed: 'lapsed', member: 'member', silver: 'silver',
    gold: 'gold', diamond: 'diamond', moves: 'Moves this month'
  }
};

const $ = (id) => document.getElementById(id);
let lang = localStorage.getItem('yima.lang') ||
  (navigator.language && navigator.language.toLowerCase().startsWith('zh') ? 'zh' : 'en');
let who = null;
let last = null;          /* the answers last drawn, redrawn on a language switch */
let mapReady = null;      /* the map's registration, once */
let unsized = false;      /* a chart left undrawn for want of room */
const charts = {};
const fmt = (n) => Number(n).toLocaleString('en-US');
const t = (k) => T[lang][k] || k;

function applyLang() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  $('lang').textContent = lang === 'zh' ? 'English' : '中文';
  showWho();
  if (who) regionPicker();
}

/* The region filter, a picker by name (regions.js); its prefix in #region. */
function regionPicker() {
  const p = window.YimaRegions.picker({ all: t('all_regions'), province: t('province'), city: t('city'),
    county: t('county') }, (v) => { $('region').value = v; });
  p.set($('region').value);
  $('region-picker').replaceChildren(p.el);
}

function showWho() {
  $('who').textContent = who ? (who.dealer ? t('dealer') + ' ' + who.dealer : t(who.role)) : '';
}

function show(view) {
  $('login').hidden = view !== 'login';
  $('dash').hidden = view !== 'dash';
  $('logout').hidden = view !== 'dash';
}

/* Today in China (UTC+8), as the reports count days. */
function chinaDay(offsetDays) {
  return new Date(Date.now() + 8 * 3600e3 + offsetDays * 86400e3).toISOString().slice(0, 10);
}

async function getJson(url) {
  const r = await fetch(url, { credentials: 'same-origin' });
  if (r.status === 401) {
    who = null;
    show('login');
    throw new Error(t('bad_token'));
  }
  const body = await r.json();
  if (!r.ok) throw new Error((body.error && body.error.message) || r.status);
  return body;
}

function query(extra) {
  const p = new URLSearchParams({ from: $('from').value, to: $('to').value });
  if ($('region').value) p.set('region', $('region').value);
  for (const [k, v] of Object.entries(extra || {})) p.set(k, v);
  return p.toString();
}

/* A table from rows: cols are [key, label key, formatter]. */
function table(el, cols, rows) {
  el.replaceChildren();
  const head = el.createTHead().insertRow();
  for (const [, label] of cols) {
    const th = document.createElement('th');
    th.textContent = t(label);
    head.appendChild(th);
  }
  const body = el.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const [key, label, f] of cols) {
      const td = tr.insertCell();
      const v = typeof key === 'function' ? key(row) : row[key];
      td.textContent = f ? f(v, row) : (v == null ? t('unknown') : String(v));
      td.dataset.col = typeof key === 'string' ? key : '';
      td.dataset.label = t(label);
    }
  }
  if (rows.length === 0) {
    const td = body.insertRow().insertCell();
    td.colSpan = cols.length;
    td.textContent = t('none');
  }
}

const num = (v) => fmt(v);
const pct = (v) => (v * 100).toFixed(1) + '%';
const counts = [['scans', 'scans', num], ['genuine', 'genuine', num], ['repeat', 'repeat', num],
  ['suspect', 'suspect', num], ['first_scan_ratio', 'ratio', pct], ['consumers', 'consumers', num],
  ['claims', 'claims', num]];

/*
 * Laid out at zero width or height (a 1 px window, a collapsed frame, a
 * full-page screenshot for a moment), a chart waits for room: ECharts' map
 * cannot invert a zero-size view and throws.
 */
const roomy = (el) => el.clientWidth > 0 && el.clientHeight > 0;

function chart(id) {
  if (!window.echarts) return null;
  if (!roomy($(id))) {
    unsized = true;
    return null;
  }
  if (!charts[id]) charts[id] = window.echarts.init($(id), null, { renderer: 'canvas' });
  return charts[id];
}

/* Tooltips as canvas text (renderMode richText): no HTML, so no inline styles. */
const tip = { trigger: 'axis', renderMode: 'richText' };

function drawDay(rows) {
  const c = chart('c-day');
  if (!c) return;
  const by = new Map(rows.map((r) => [r.day, r]));
  const days = [];
  for (let d = new Date($('from').value); d <= new Date($('to').value); d = new Date(d.getTime() + 86400e3)) {
    days.push(d.toISOString().slice(0, 10));
  }
  const s = (k) => days.map((d) => (by.has(d) ? by.get(d)[k] : 0));
  c.setOption({
    tooltip: tip, legend: { top: 0 }, grid: { left: 48, right: 16, top: 32, bottom: 28 },
    xAxis: { type: 'category', data: days }, yAxis: { type: 'value' },
    series: [{ id: 'scans', name: t('scans'), type: 'line', data: s('scans') },
      { id: 'genuine', name: t('genuine'), type: 'line', data: s('genuine') },
      { id: 'suspect', name: t('suspect'), type: 'line', data: s('suspect') }]
  }, true);
}

async function drawMap(rows) {
  const c = chart('c-map');
  if (!c) return;
  if (!mapReady) {
    mapReady = fetch('/dashboard/china.json?v=1').then((r) => (r.ok ? r.json() : null)).then((g) => {
      if (g) window.echarts.registerMap('china', g);
      return g;
    });
  }
  const geo = await mapReady;
  if (!geo) return;
  const zh = new Map(geo.features.map((f) => [f.properties.name, f.properties.zh]));
  const prov = new Map();
  for (const r of rows) {
    if (!/^\d{6}$/.test(r.region || '')) continue; /* unknown, or 'other' */
    const k = r.region.slice(0, 2) + '0000';
    prov.set(k, (prov.get(k) || 0) + r.scans);
  }
  const data = [...prov].map(([name, value]) => ({ name, value }));
  c.setOption({
    tooltip: { trigger: 'item', renderMode: 'richText',
      formatter: (p) => (zh.get(p.name) || p.name) + ': ' + fmt(p.value || 0) },
    visualMap: { min: 0, max: Math.max(1, ...data.map((d) => d.value)), left: 0, bottom: 0,
      calculable: true, inRange: { color: ['#e0ecff', '#1d4ed8'] } },
    series: [{ id: 'map', name: t('scans'), type: 'map', map: 'china', roam: true, data }]
  }, true);
}

function regionName(r) {
  if (r.region === 'other') return t('other');
  return r.region == null ? t('unknown') : (r.name ? r.name + ' ' : '') + r.region;
}

/* A time in China time, as people there read it: 2026-12-03 14:34. */
function chinaTime(iso) {
  const ms = Date.parse(iso);
  return isNaN(ms) ? String(iso) : new Date(ms + 8 * 3600e3).toISOString().slice(0, 16).replace('T', ' ');
}
/* A name beside its code or id, when the server knows one. */
const named = (name, code) => (name && name !== code ? name + ' ' : '') + (code == null ? '' : code);
const fill = (s, o) => s.replace(/\{(\w+)\}/g, (m, k) => (k in o ? String(o[k]) : m));

/* An alert as a sentence in the page's language, from its numbers. */
function alertText(a) {
  const place = a.region ? named(a.region_name, a.region) : a.channel ? a.channel.name : '';
  if (a.type === 'falling_trend') {
    return fill(t('fall_s'), { place, p: fmt(a.previous), c: fmt(a.current),
      pct: Number(a.change_pct).toFixed(1) });
  }
  if (a.type === 'suspect_spike') return fill(t('spike_s'), { place, c: fmt(a.current), p: fmt(a.previous) });
  if (a.type === 'diversion') {
    return fill(t('div_s'), { owner: named(a.owner_name, a.owner), c: fmt(a.consumer_events),
      s: fmt(a.store_events), u: fmt(a.unverified_events) });
  }
  return a.why || '';
}

/* A SKU's product name in the page's language, or ''. */
const skuName = (r) => (r.names && r.names[lang]) || r.name || '';

function drawBar(id, rows, label) {
  const c = chart(id);
  if (!c) return;
  const top = [...rows].sort((a, b) => b.scans - a.scans).slice(0, 15).reverse();
  c.setOption({
    tooltip: tip, grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: 'value' }, yAxis: { type: 'category', data: top.map(label) },
    series: [{ id: 'scans', name: t('scans'), type: 'bar', data: top.map((r) => r.scans) }]
  }, true);
}

/* The channels' funnel (all codes summed) as a funnel chart. */
function drawFunnel(f) {
  const c = chart('c-funnel');
  if (!c) return;
  const steps = ['scans', 'bound', 'claimed', 'repeat_buyers'];
  c.setOption({
    tooltip: { trigger: 'item', renderMode: 'richText' },
    series: [{ id: 'funnel', name: t('channels'), type: 'funnel', sort: 'none', left: 8, right: 8, top: 8, bottom: 8,
      label: { position: 'inside', formatter: (p) => p.name + ' ' + fmt(p.value) },
      data: steps.map((k) => ({ name: t(k), value: f[k] })) }]
  }, true);
}

const stages = ['new', 'active', 'at_risk', 'lapsed'];

function drawSegments(seg) {
  const c = chart('c-segments');
  if (!c) return;
  c.setOption({
    tooltip: tip, grid: { left: 48, right: 16, top: 8, bottom: 28 },
    xAxis: { type: 'category', data: stages.map(t) }, yAxis: { type: 'value' },
    series: [{ id: 'stages', name: t('consumers'), type: 'bar', data: stages.map((k) => seg.stages[k] || 0) }]
  }, true);
}

/* A stage's consumers, and this month's moves into and out of it. */
function segmentRows(seg) {
  const month = chinaDay(0).slice(0, 7);
  return stages.map((k) => {
    let into = 0, out = 0;
    for (const m of seg.moves) {
      if (m.month !== month) continue;
      if (m.to === k) into += m.consumers;
      if (m.from === k) out += m.consumers;
    }
    return { stage: k, consumers: seg.stages[k] || 0, moves: '+' + fmt(into) + ' / -' + fmt(out) };
  });
}

/* Draws everything; resolves once the map (fetched once) is drawn too. */
function draw() {
  const [day, region, sku, dealer, div, alerts, chans, seg] = last;
  const sum = (k) => day.rows.reduce((a, r) => a + r[k], 0);
  for (const k of ['scans', 'genuine', 'repeat', 'suspect', 'claims']) $('k-' + k).textContent = fmt(sum(k));
  $('k-ratio').textContent = sum('scans') ? pct(sum('genuine') / sum('scans')) : '–';
  $('asof').textContent = t('as_of') + ' ' + day.as_of + ' (scan #' + day.through_scan_id + ')';
  table($('t-day'), [['day', 'day']].concat(counts), day.rows);
  table($('t-region'), [['region', 'region'], ['name', 'name']].concat(counts), region.rows);
  table($('t-sku'), [['sku', 'sku'], ['name', 'name', (v, r) => skuName(r)]].concat(counts), sku.rows);
  table($('t-dealer'), [['dealer', 'dealer']].concat(counts), dealer.rows);
  table($('t-diversion'), [['at', 'at', chinaTime], ['direction', 'direction', (v) => t(v)], ['serial', 'serial'],
    ['owner', 'owner', (v, r) => named(r.owner_name, v)], ['region', 'region', (v, r) => named(r.region_name, v)],
    ['evidence', 'evidence', (v, r) => t(v) + (r.uncertain ? ' ' + t('uncertain') : '')],
    ['level', 'level', (v) => (v == null ? '' : String(v))]], div.events);
  $('div-note').textContent = div.truncated
    ? t('latest').replace('{n}', fmt(div.events.length)).replace('{total}', fmt(div.total)) : '';
  for (const tr of $('t-diversion').tBodies[0].rows) {
    const lv = tr.cells.length > 6 ? tr.cells[6].textContent : '';
    if (lv === '1' || lv === '2') tr.className = 'lv' + lv;
  }
  const ul = $('alerts');
  ul.replaceChildren();
  for (const a of alerts.alerts) {
    const li = document.createElement('li');
    li.textContent = t(a.type) + (a.level ? ' L' + a.level : '') + (lang === 'zh' ? '：' : ': ') + alertText(a);
    if (a.level) li.className = 'lv' + a.level;
    ul.appendChild(li);
  }
  if (alerts.alerts.length === 0) ul.textContent = t('none');
  table($('t-channels'), [['rank', 'rank'], ['name', 'channel', (v, r) => named(v, r.channel)],
    ['type', 'type', (v) => t(v + '_t')], ['dealer', 'dealer'], ['scans', 'scans', num], ['bound', 'bound', num],
    ['claimed', 'claimed', num], ['repeat_buyers', 'repeat_buyers', num],
    ['commission_points', 'commission_points', num], ['claim_rate', 'claim_rate', pct]], chans.rows);
  table($('t-segments'), [['stage', 'stage', (v) => t(v)], ['consumers', 'consumers', num],
    ['moves', 'moves']], segmentRows(seg));
  if (!window.echarts) {
    $('error').textContent = t('no_charts');
    return;
  }
  drawDay(day.rows);
  drawBar('c-rank', region.rows, regionName);
  drawBar('c-sku', sku.rows, (r) => (r.sku ? (skuName(r) ? skuName(r) + ' ' : '') + r.sku : t('unknown')));
  drawFunnel(chans.funnel);
  drawSegments(seg);
  return drawMap(region.rows).catch((e) => { $('error').textContent = String(e.message || e); });
}

async function load() {
  $('error').textContent = '';
  const q = query();
  for (const by of ['day', 'region', 'sku', 'dealer']) {
    $('csv-' + by).href = '/api/v1/reports/scans?' + query({ by, format: 'csv' });
  }
  /* Diversion and alerts cover every region of one's goods: no region filter. */
  const span = 'from=' + $('from').value + '&to=' + $('to').value;
  $('csv-diversion').href = '/api/v1/reports/diversion?' + span + '&format=csv';
  $('csv-channels').href = '/api/v1/reports/channels?' + span + '&format=csv';
  const reg = $('region').value ? '?region=' + encodeURIComponent($('region').value) : '';
  try {
    last = await Promise.all([
      getJson('/api/v1/reports/scans?by=day&' + q), getJson('/api/v1/reports/scans?by=region&' + q),
      getJson('/api/v1/reports/scans?by=sku&' + q), getJson('/api/v1/reports/scans?by=dealer&' + q),
      getJson('/api/v1/reports/diversion?' + span), getJson('/api/v1/reports/alerts?' + span),
      getJson('/api/v1/reports/channels?' + span), getJson('/api/v1/reports/segments' + reg)]);
    await draw();
    document.body.dataset.loaded = String(Date.now());
  } catch (e) {
    $('error').textContent = t('failed') + ': ' + (e.message || e);
  }
}

async function enter() {
  show('dash');
  showWho();
  regionPicker();
  await load();
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('login-error').textContent = '';
  const r = await fetch('/api/v1/session', { method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: $('token').value }) });
  $('token').value = '';
  if (!r.ok) {
    $('login-error').textContent = t('bad_token');
    return;
  }
  who = await r.json();
  await enter();
});

/* Logging out leaves nothing of the last user's numbers on the page. */
function clear() {
  last = null;
  unsized = false;
  delete document.body.dataset.loaded;
  for (const el of document.querySelectorAll('#dash table, #alerts, #div-note')) el.replaceChildren();
  for (const el of document.querySelectorAll('.kpis b')) el.textContent = '–';
  $('region').value = '';
  $('region-picker').replaceChildren();
  /* Disposed, not cleared: a chart still animating must not draw again. */
  for (const [id, c] of Object.entries(charts)) {
    c.dispose();
    delete charts[id];
  }
}

$('logout').addEventListener('click', async () => {
  await fetch('/api/v1/session', { method: 'DELETE', credentials: 'same-origin' });
  who = null;
  clear();
  showWho();
  show('login');
});

$('range').addEventListener('submit', (ev) => {
  ev.preventDefault();
  load();
});

$('lang').addEventListener('click', () => {
  lang = lang === 'zh' ? 'en' : 'zh';
  localStorage.setItem('yima.lang', lang);
  applyLang();
  if (last) draw();
});

/* A chart with no room keeps its last size; one left undrawn is drawn now. */
window.addEventListener('resize', () => {
  for (const c of Object.values(charts)) if (roomy(c.getDom())) c.resize();
  if (unsized && last) {
    unsized = false;
    draw();
  }
});

$('from').value = chinaDay(-29);
$('to').value = chinaDay(0);
applyLang();
fetch('/api/v1/session', { credentials: 'same-origin' }).then(async (r) => {
  if (r.ok) {
    who = await r.json();
    await enter();
  } else {
    show('login');
  }
}).catch(() => show('login'));
