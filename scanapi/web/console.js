/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The brand's console. Every action is a call of the API (no second write
 * path), as the logged-in staff member: the session cookie, and the CSRF
 * token the login gave for writes. A refused call shows the API's message
 * beside the field it names and keeps what was typed. No inline script.
 */
'use strict';

const T = {
  zh: {
    title: '一物一码 · 品牌控制台', logout: '退出', login_h: '登录', name: '账号', password: '密码',
    or_token: '或使用访问令牌：', token: '访问令牌', login: '登录', bad_login: '账号、密码或令牌不对',
    admins_only: '控制台仅供品牌管理员使用；经销商请用看板', locked: '登录失败次数过多，请稍后再试',
    products: '产品', campaigns: '活动', dealers: '经销商', channels: '渠道码', batches: '批次', claims: '待审领奖',
    payouts: '红包发放', tokens: '令牌', staff: '员工账号', save: '保存', create: '创建', edit: '编辑',
    gtin: 'GTIN', pname: '名称', brand: '品牌', image_url: '图片链接', description: '说明', links: 'GS1 链接',
    saved: '已保存', none: '暂无', failed: '失败', id: '编号', status: '状态', start: '开始', end: '结束',
    claim_kind: '领奖码', inner: '盖内码', item: '瓶身码', points: '积分', commission: '佣金积分',
    budget_cents: '预算 (分)', daily_budget_cents: '每日预算 (分)', per_consumer_per_day: '每人每日上限',
    per_consumer: '每人上限', per_network_per_hour: '每网段每小时上限', gtins: 'GTIN (逗号分隔)',
    regions: '地区', prizes: '奖品', add_prize: '添加奖品', type: '类型', amount: '金额/数量',
    count: '总数', probability: '中奖概率', cash: '现金红包 (分)', voucher: '再来一瓶', variants: 'A/B 方案',
    add_variant: '添加方案', weight: '权重 %', headline: '落地页标题', cta: '按钮文字', remove: '删除',
    active: '进行中', paused: '已暂停', ended: '已结束', pause: '暂停', resume: '恢复', finish: '结束活动',
    spent: '已花费', remaining: '剩余奖品', report: '实验报告', exposed: '曝光', claimers: '领奖人数',
    claim_rate: '领奖率', repeat_rate: '复购率', winner: '胜出', no_winner: '暂无显著差异',
    parent: '上级', gln: 'GLN', distributor: '总经销', dealer: '经销商', store: '门店', move: '调整上级',
    territory: '销售区域', territory_h: '设置区域', top: '(顶级)', code: '渠道码内容', staff_t: '导购',
    bind: '绑定', bound: '已绑定，序号 {s}', manifest: 'manifest.json 文件', import: '导入', imported: '已导入批次 {b}',
    revoke_h: '撤销批次', batch: '批次号 (32 位)', reason: '原因', revoke: '撤销', revoked: '已撤销',
    serial: '序号', consumer: '消费者', at: '时间', campaign: '活动', release: '放行发放', reject: '驳回',
    released: '已放行', rejected: '已驳回', cents: '金额 (分)', mark_paid: '标记已发放', paid: '已标记 {n} 笔',
    csv: '下载 CSV', role: '角色', admin: '管理员', ops: '运营', shown_once: '令牌只显示这一次，请妥善保存：',
    disable: '停用', disabled: '已停用', gs1: '商品页', linkset: 'Linkset', yes: '是', no: '否',
    created: '创建时间', select: '请选择', all: '全部', province: '省', city: '市', county: '区县', add: '添加',
    map_hint: '点击地图上的省份即可加入或移出；市、区县用上面的选择框添加。', inherited: '沿用上级 {d} 的区域',
    qr: '二维码', show_qr: '显示二维码', kind: '类型', lot: '批号', imported_at: '导入时间', first_serial: '起始序号',
    k_item: '单品码', k_box: '箱码', k_pallet: '托盘码', k_channel: '渠道码', some_revoked: '部分已撤销',
    list: '已导入批次'
  },
  en: {
    title: 'yima · brand console', logout: 'Log out', login_h: 'Log in', name: 'Name', password: 'Password',
    or_token: 'or with an access token:', token: 'Access token', login: 'Log in',
    bad_login: 'That name, password or token is not valid',
    admins_only: 'The console is for the brand\'s administrators; dealers use the dashboard',
    locked: 'Too many failed logins; try again later',
    products: 'Products', campaigns: 'Campaigns', dealers: 'Dealers', channels: 'Channel codes',
    batches: 'Batches', claims: 'Held claims', payouts: 'Payouts', tokens: 'Tokens', staff: 'Staff',
    save: 'Save', create: 'Create', edit: 'Edit', gtin: 'GTIN', pname: 'Name', brand: 'Brand',
    image_url: 'Picture link', description: 'Description', links: 'GS1 links', saved: 'Saved', none: 'None',
    failed: 'Failed', id: 'Id', status: 'Status', start: 'Start', end: 'End', claim_kind: 'Claiming code',
    inner: 'cap code', item: 'outer code', points: 'Points', commission: 'Commission points',
    budget_cents: 'Budget (cents)', daily_budget_cents: 'Daily budget (cents)',
    per_consumer_per_day: 'Per consumer a day', per_consumer: 'Per consumer',
    per_network_per_hour: 'Per network an hour', gtins: 'GTINs (comma-separated)',
    regions: 'Regions', prizes: 'Prizes', add_prize: 'Add a prize', type: 'Type',
    amount: 'Amount', count: 'Count', probability: 'Probability', cash: 'red packet (cents)',
    voucher: 'another bottle', variants: 'A/B variants', add_variant: 'Add a variant', weight: 'Weight %',
    headline: 'Landing headline', cta: 'Button text', remove: 'Remove', active: 'active', paused: 'paused',
    ended: 'ended', pause: 'Pause', resume: 'Resume', finish: 'End', spent: 'Spent',
    remaining: 'Prizes left', report: 'Experiment', exposed: 'Exposed', claimers: 'Claimed',
    claim_rate: 'Claim rate', repeat_rate: 'Repeat rate', winner: 'Winner', no_winner: 'No clear winner yet',
    parent: 'Parent', gln: 'GLN', distributor: 'distributor', dealer: 'dealer', store: 'store',
    move: 'Move', territory: 'Territory', territory_h: 'Set a territory', top: '(top)',
    code: 'Channel code', staff_t: 'salesperson', bind: 'Bind', bound: 'Bound, serial {s}',
    manifest: 'manifest.json file', import: 'Import', imported: 'Imported batch {b}',
    revoke_h: 'Revoke a batch', batch: 'Batch id (32 hex)', reason: 'Reason', revoke: 'Revoke',
    revoked: 'Revoked', serial: 'Serial', consumer: 'Consumer', at: 'At', campaign: 'Campaign',
    release: 'Release to pay', reject: 'Reject', released: 'Released', rejected: 'Rejected',
    cents: 'Cents', mark_paid: 'Mark paid', paid: 'Marked {n} paid', csv: 'CSV download', role: 'Role',
    admin: 'administrator', ops: 'operations', shown_once: 'The token is shown this once; keep it safe:',
    disable: 'Disable', disabled: 'Disabled', gs1: 'Product page', linkset: 'Linkset', yes: 'yes',
    no: 'no', created: 'Created', select: 'Choose', all: 'all', province: 'Province', city: 'City',
    county: 'County', add: 'Add', map_hint: 'Click a province on the map to add or remove it; add cities and ' +
      'counties with the choices above.', inherited: 'Inherited from {d}', qr: 'QR code', show_qr: 'Show the QR code',
    kind: 'Kind', lot: 'Lot', imported_at: 'Imported', first_serial: 'First serial', k_item: 'item',
    k_box: 'box', k_pallet: 'pallet', k_channel: 'channel', some_revoked: 'some revoked', list: 'Imported batches'
  }
};

const $ = (id) => document.getElementById(id);
let lang = localStorage.getItem('yima.lang') ||
  (navigator.language && navigator.language.toLowerCase().startsWith('zh') ? 'zh' : 'en');
let who = null;
let csrf = '';
const t = (k) => T[lang][k] || k;
const fill = (s, o) => s.replace(/\{(\w+)\}/g, (m, k) => (k in o ? String(o[k]) : m));
const fmt = (n) => Number(n).toLocaleString('en-US');

/* An element: attrs are properties, or data-* and aria-* attributes. */
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null) continue;
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'for') e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of kids) if (c != null) e.append(c);
  return e;
}

/* A time in China time, as people there read it: 2026-12-03 14:34. */
function chinaTime(iso) {
  const ms = Date.parse(iso);
  return isNaN(ms) ? String(iso || '') : new Date(ms + 8 * 3600e3).toISOString().slice(0, 16).replace('T', ' ');
}
/* A datetime-local value, read as China time, in RFC 3339. */
const rfc3339 = (v) => (v ? v + ':00+08:00' : '');

async function api(method, path, body, raw) {
  const headers = {};
  if (method !== 'GET') headers['X-Yima-CSRF'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, { method, credentials: 'same-origin', headers,
    body: body === undefined ? undefined : raw ? body : JSON.stringify(body) });
  let j = null;
  try { j = await r.json(); } catch (e) { j = null; }
  if (r.status === 401 && path !== '/api/v1/session') enterLogin();
  return { ok: r.ok, status: r.status, body: j };
}
const message = (res) => (res.body && res.body.error && res.body.error.message) || t('failed') + ' (' + res.status + ')';

/* A labelled input whose name is the API's field (f), with its own error line. */
function fld(f, label, input) {
  input.dataset.f = f;
  if (!input.name) input.name = f;
  return el('label', { 'data-for': f }, el('span', { text: t(label) }), input, el('p', { class: 'err', role: 'alert' }));
}
/* A labelled group of controls (a region list), named f for errors like a field. */
function grp(f, label, node) {
  node.dataset.f = f;
  return el('div', { class: 'group', role: 'group', 'aria-labelledby': 'g-' + f, 'data-for': f },
    el('span', { id: 'g-' + f, text: t(label) }), node, el('p', { class: 'err', role: 'alert' }));
}
const inp = (type, extra) => el('input', Object.assign({ type: type || 'text' }, extra || {}));
function sel(options, value) {
  const s = el('select');
  for (const [v, k] of options) s.append(el('option', { value: v, text: t(k), selected: v === value }));
  return s;
}

/*
 * Shows a refused call: its message beside the field it names ("variants
 * [1].name": that field, else the nearest one that holds it), else at
 * the form's end; codes maps an error code to the field it is about (a
 * GTIN in the path, say). What was typed stays.
 */
function showError(form, res, codes) {
  for (const e of form.querySelectorAll('.err')) e.textContent = '';
  const msg = message(res);
  const m = /^"([^"]+)"/.exec(msg);
  const code = res.body && res.body.error && res.body.error.code;
  let key = m ? m[1] : (codes && codes[code]) || '';
  while (key) {
    const input = form.querySelector('[data-f="' + CSS.escape(key) + '"]');
    if (input) {
      /* A list's own error goes under the list. */
      (input.classList.contains('rows') ? input.nextElementSibling
        : input.parentElement.querySelector('.err')).textContent = msg;
      if (input.focus) input.focus();
      return;
    }
    key = key.replace(/(\.[^.[\]]*|\[[^\]]*\])$/, '');
  }
  form.querySelector(':scope > .actions .err').textContent = msg;
}

/* A form: its body, a submit button; submit calls fn(form), then done(res) on success. */
function form(title, parts, label, fn, done, codes) {
  const f = el('form', { noValidate: true }, title ? el('h3', { text: t(title) }) : null, ...parts,
    el('div', { class: 'actions' }, el('button', { type: 'submit', text: t(label) }),
      el('p', { class: 'err', role: 'alert' }), el('span', { class: 'ok' })));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    for (const e of f.querySelectorAll('.err')) e.textContent = '';
    f.querySelector(':scope > .actions .ok').textContent = '';
    const res = await fn(f);
    if (!res.ok) {
      showError(f, res, codes);
      return;
    }
    f.querySelector(':scope > .actions .ok').textContent = t('saved');
    if (done) await done(res, f);
  });
  return f;
}
const val = (f, name) => {
  const e = f.querySelector('[data-f="' + name + '"]');
  return e ? e.value.trim() : '';
};
/* A whole number from a field, or undefined when empty (sent as typed otherwise: the API checks). */
const numOf = (v) => (v === '' ? undefined : /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v);

/* A table; cols are [label, cell(row) → text or element]. Each cell carries its label for phones. */
function table(cols, rows) {
  const tb = el('table');
  const head = tb.createTHead().insertRow();
  for (const [label] of cols) head.append(el('th', { text: t(label) }));
  const body = tb.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    for (const [label, cell] of cols) {
      const v = cell(r);
      const td = el('td', { 'data-label': t(label) });
      if (v instanceof Node) td.append(v); else td.textContent = v == null ? '' : String(v);
      tr.append(td);
    }
  }
  if (rows.length === 0) body.insertRow().append(el('td', { colSpan: cols.length, text: t('none') }));
  return tb;
}
const card = (title, ...kids) => el('div', { class: 'card' }, title ? el('h3', { text: t(title) }) : null, ...kids);

/* A list of regions picked by name (regions.js), its field named f for errors. */
const regionList = (onChange) => window.YimaRegions.list({ all: t('all'), province: t('province'),
  city: t('city'), county: t('county'), add: t('add'), remove: t('remove') }, onChange);

/* The provinces' map, once (drawn by ECharts when it is installed). */
let chinaMap = null;
let mapChart = null;
function loadMap() {
  if (!chinaMap) {
    chinaMap = fetch('/dashboard/china.json?v=1').then((r) => (r.ok ? r.json() : null)).then((g) => {
      if (g && window.echarts) window.echarts.registerMap('china', g);
      return g && window.echarts ? g : null;
    }).catch(() => null);
  }
  return chinaMap;
}

/*
 * A map of a region list: whole provinces dark, provinces with some of
 * their cities or counties light; a click on a province adds or removes it.
 */
async function regionMap(box, list) {
  const geo = await loadMap();
  if (!geo || !box.isConnected) return null;
  const zh = new Map(geo.features.map((f) => [f.properties.name, f.properties.zh]));
  if (mapChart) mapChart.dispose(); /* the last visit's, its page gone */
  const c = mapChart = window.echarts.init(box, null, { renderer: 'canvas' });
  const paint = (codes) => {
    const data = new Map();
    for (const code of codes) {
      const k = code.slice(0, 2) + '0000';
      data.set(k, Math.max(data.get(k) || 0, code.length === 2 ? 2 : 1));
    }
    c.setOption({
      tooltip: { trigger: 'item', renderMode: 'richText', formatter: (p) => zh.get(p.name) || p.name },
      visualMap: { show: false, type: 'piecewise', pieces: [{ value: 1, color: '#93c5fd' },
        { value: 2, color: '#1d4ed8' }], outOfRange: { color: '#f1f5f9' } },
      series: [{ id: 'map', type: 'map', map: 'china', selectedMode: false,
        data: [...data].map(([name, value]) => ({ name, value })) }]
    }, true);
    box.dataset.painted = codes.join(',');
  };
  c.on('click', (e) => { if (/^\d{6}$/.test(e.name)) list.toggle(e.name.slice(0, 2)); });
  paint(list.codes());
  return paint;
}

/* A button that calls fn and shows its error or done text beside it. */
function act(label, fn, cls) {
  const out = el('span', { class: 'err', role: 'alert' });
  const b = el('button', { type: 'button', text: t(label), class: cls || '' });
  b.addEventListener('click', async () => {
    out.textContent = '';
    const res = await fn();
    if (res && !res.ok) out.textContent = message(res);
  });
  return el('span', { class: 'actions' }, b, out);
}

/* ---- pages ---- */

async function products(p) {
  const res = await api('GET', '/api/v1/products');
  const f = form('edit', [el('div', { class: 'fields' }, fld('gtin', 'gtin', inp('text', { inputMode: 'numeric' })),
    fld('name', 'pname', inp()), fld('brand', 'brand', inp()), fld('image_url', 'image_url', inp('text', { inputMode: 'url' })),
    fld('description', 'description', el('textarea', { rows: 2 })))], 'save', (f) => {
    const body = { name: val(f, 'name'), brand: val(f, 'brand') };
    for (const k of ['image_url', 'description']) if (val(f, k)) body[k] = val(f, k);
    return api('PUT', '/api/v1/admin/products/' + encodeURIComponent(val(f, 'gtin') || '-'), body);
  }, () => route(), { bad_gtin: 'gtin' });
  const rows = (res.body && res.body.products) || [];
  p.append(el('h2', { text: t('products') }), f, card(null, table([
    ['gtin', (r) => r.gtin], ['pname', (r) => r.name], ['brand', (r) => r.brand],
    ['links', (r) => el('span', {}, el('a', { href: '/01/' + r.gtin, text: t('gs1') }), ' · ',
      el('a', { href: '/01/' + r.gtin + '?linkType=linkset', text: t('linkset') }))],
    ['edit', (r) => act('edit', async () => {
      for (const k of ['gtin', 'name', 'brand', 'image_url', 'description']) {
        f.querySelector('[data-f="' + k + '"]').value = r[k] || '';
      }
      f.scrollIntoView();
    })]], rows)));
}

/* Rows of sub-fields (prizes, variants) under prefix, with add and remove. */
function rowsOf(prefix, fields, addLabel) {
  const box = el('div', { class: 'rows', 'data-f': prefix });
  const add = el('button', { type: 'button', text: t(addLabel) });
  const renumber = () => [...box.children].forEach((row, i) => {
    for (const e of row.querySelectorAll('[data-sub]')) e.dataset.f = prefix + '[' + i + '].' + e.dataset.sub;
  });
  add.addEventListener('click', () => {
    const row = el('div', { class: 'row' });
    for (const [sub, label, make] of fields) {
      const input = make();
      input.dataset.sub = sub;
      row.append(fld(prefix + '[].' + sub, label, input));
    }
    const rm = el('button', { type: 'button', text: t('remove'), class: 'danger' });
    rm.addEventListener('click', () => { row.remove(); renumber(); });
    row.append(rm);
    box.append(row);
    renumber();
  });
  return [el('h3', { text: t(prefix) }), box, el('p', { class: 'err', role: 'alert' }), add];
}
/* The rows' values as objects (sub "landing.cta" nests). */
function rowValues(f, prefix) {
  const box = f.querySelector('.rows[data-f="' + prefix + '"]');
  return [...box.children].map((row) => {
    const o = {};
    for (const e of row.querySelectorAll('[data-sub]')) {
      const v = e.value.trim();
      if (v === '') continue;
      const path = e.dataset.sub.split('.');
      let at = o;
      for (const k of path.slice(0, -1)) at = at[k] = at[k] || {};
      at[path[path.length - 1]] = e.type === 'number' || /amount|count|weight|points|probability/.test(e.dataset.sub)
        ? numOf(v) : v;
    }
    return o;
  });
}

async function campaigns(p) {
  const res = await api('GET', '/api/v1/admin/campaigns');
  const scope = regionList();
  const num = () => inp('text', { inputMode: 'decimal' });
  const prize = [['name', 'pname', inp], ['type', 'type', () => sel([['cash', 'cash'], ['points', 'points'],
    ['voucher', 'voucher']], 'cash')], ['amount', 'amount', num], ['count', 'count', num],
  ['probability', 'probability', num]];
  const variant = [['name', 'pname', inp], ['weight', 'weight', num], ['points', 'points', num],
    ['landing.headline', 'headline', inp], ['landing.image_url', 'image_url', inp], ['landing.cta', 'cta', inp]];
  const f = form('create', [el('div', { class: 'fields' }, fld('name', 'pname', inp()),
    fld('start', 'start', inp('datetime-local')), fld('end', 'end', inp('datetime-local')),
    fld('claim_kind', 'claim_kind', sel([['inner', 'inner'], ['item', 'item']], 'inner')),
    fld('points', 'points', num()), fld('commission', 'commission', num()),
    fld('budget_cents', 'budget_cents', num()), fld('daily_budget_cents', 'daily_budget_cents', num()),
    fld('limits.per_consumer_per_day', 'per_consumer_per_day', num()),
    fld('limits.per_consumer', 'per_consumer', num()),
    fld('limits.per_network_per_hour', 'per_network_per_hour', num()),
    fld('gtins', 'gtins', inp())), grp('regions', 'regions', scope.el),
  ...rowsOf('prizes', prize, 'add_prize'), ...rowsOf('variants', variant, 'add_variant')], 'create', (f) => {
    const body = { name: val(f, 'name'), start: rfc3339(val(f, 'start')), end: rfc3339(val(f, 'end')),
      claim_kind: val(f, 'claim_kind') };
    for (const k of ['points', 'commission', 'budget_cents', 'daily_budget_cents']) {
      if (val(f, k) !== '') body[k] = numOf(val(f, k));
    }
    const lim = {};
    for (const k of ['per_consumer_per_day', 'per_consumer', 'per_network_per_hour']) {
      if (val(f, 'limits.' + k) !== '') lim[k] = numOf(val(f, 'limits.' + k));
    }
    if (Object.keys(lim).length) body.limits = lim;
    if (val(f, 'gtins')) body.gtins = val(f, 'gtins').split(/[\s,，]+/).filter(Boolean);
    if (scope.codes().length) body.regions = scope.codes();
    const pz = rowValues(f, 'prizes');
    if (pz.length) body.prizes = pz;
    const vs = rowValues(f, 'variants');
    if (vs.length) body.variants = vs;
    return api('POST', '/api/v1/admin/campaigns', body);
  }, () => route());
  const patch = (c, status) => async () => {
    const r = await api('PATCH', '/api/v1/admin/campaigns/' + c.id, { status });
    if (r.ok) await route();
    return r;
  };
  const rows = (res.body && res.body.campaigns) || [];
  const report = el('div');
  p.append(el('h2', { text: t('campaigns') }), card(null, table([
    ['id', (c) => c.id], ['pname', (c) => c.name], ['status', (c) => t(c.status)],
    ['start', (c) => chinaTime(c.start) + ' – ' + chinaTime(c.end)],
    ['spent', (c) => fmt(c.spent_cents) + (c.budget_cents != null ? ' / ' + fmt(c.budget_cents) : '')],
    ['remaining', (c) => [...c.prizes, ...(c.variants || []).flatMap((v) => v.prizes || [])]
      .map((z) => z.name + ' ' + fmt(z.remaining) + '/' + fmt(z.count)).join(', ')],
    ['variants', (c) => (c.variants || []).map((v) => v.name + ' ' + v.weight + '%').join(', ')],
    ['edit', (c) => el('span', {}, c.status === 'active' ? act('pause', patch(c, 'paused'))
      : c.status === 'paused' ? act('resume', patch(c, 'active')) : null,
    c.status !== 'ended' ? act('finish', patch(c, 'ended'), 'danger') : null,
    c.variants ? act('report', () => experiment(c, report)) : null)]], rows)), report, f);
}

/* An A/B test's report under the campaigns. */
async function experiment(c, box) {
  const r = await api('GET', '/api/v1/reports/experiments/' + c.id);
  if (!r.ok) return r;
  const pct = (v) => (v * 100).toFixed(1) + '%';
  box.replaceChildren(card(null, el('h3', { text: t('report') + ' · ' + c.name }), table([
    ['variants', (v) => v.variant], ['exposed', (v) => fmt(v.exposed)], ['claimers', (v) => fmt(v.claimers)],
    ['claim_rate', (v) => pct(v.claim_rate)], ['repeat_rate', (v) => pct(v.repeat_rate)],
    ['spent', (v) => fmt(v.cost_cents)]], r.body.variants),
  el('p', { class: 'hint', id: 'winner', text: r.body.winner ? t('winner') + ': ' + r.body.winner : t('no_winner') })));
  return r;
}

async function dealerList() {
  const res = await api('GET', '/api/v1/admin/dealers');
  return (res.body && res.body.dealers) || [];
}
/* The tree in order, each with its depth. */
function tree(ds) {
  const kids = new Map();
  for (const d of ds) {
    const k = d.parent || '';
    if (!kids.has(k)) kids.set(k, []);
    kids.get(k).push(d);
  }
  const out = [];
  const walk = (id, depth) => {
    for (const d of kids.get(id) || []) {
      if (out.includes(d)) continue;
      out.push(Object.assign(d, { depth }));
      walk(d.id, depth + 1);
    }
  };
  walk('', 0);
  return out;
}
const dealerSel = (ds, none) => sel([['', none || 'select'], ...ds.map((d) => [d.id, d.name + ' ' + d.id])], '');

async function dealers(p) {
  const ds = tree(await dealerList());
  const types = [['distributor', 'distributor'], ['dealer', 'dealer'], ['store', 'store']];
  const add = form('create', [el('div', { class: 'fields' }, fld('id', 'id', inp()), fld('name', 'pname', inp()),
    fld('type', 'type', sel(types, 'dealer')), fld('parent', 'parent', dealerSel(ds, 'top')),
    fld('gln', 'gln', inp('text', { inputMode: 'numeric' })))], 'create', (f) => {
    const body = { id: val(f, 'id'), name: val(f, 'name'), type: val(f, 'type') };
    if (val(f, 'parent')) body.parent = val(f, 'parent');
    if (val(f, 'gln')) body.gln = val(f, 'gln');
    return api('POST', '/api/v1/admin/dealers', body);
  }, () => route());
  /* A territory: picked by name or on the map, the dealer's own shown first. */
  let paint = null;
  const area = regionList((codes) => paint && paint(codes));
  const owner = dealerSel(ds);
  const from = el('p', { class: 'hint' });
  const mapBox = el('div', { class: 'map', id: 'territory-map' });
  /* Saving replaces the whole territory: never over one not read. */
  owner.addEventListener('change', async () => {
    const id = owner.value;
    const save = terr.querySelector(':scope > .actions button[type=submit]');
    from.textContent = '';
    from.classList.remove('err');
    save.disabled = false;
    if (!id) return area.set([]);
    const r = await api('GET', '/api/v1/admin/dealers/' + encodeURIComponent(id) + '/territory');
    if (owner.value !== id) return; /* another dealer chosen meanwhile */
    if (!r.ok) {
      from.textContent = message(r);
      from.classList.add('err');
      save.disabled = true;
      return;
    }
    const own = r.body.from === id;
    area.set(own ? r.body.regions.map((x) => x.code) : []);
    if (r.body.from && !own) from.textContent = fill(t('inherited'), { d: r.body.from });
  });
  const terr = form('territory_h', [el('div', { class: 'fields' }, fld('dealer', 'dealer', owner)), from,
    grp('regions', 'territory', area.el), el('p', { class: 'hint', text: t('map_hint') }), mapBox], 'save', (f) =>
    api('PUT', '/api/v1/admin/dealers/' + encodeURIComponent(val(f, 'dealer') || '-') + '/territory',
      { regions: area.codes() }));
  const move = (d) => {
    const s = dealerSel(ds.filter((x) => x.id !== d.id), 'top');
    s.value = d.parent || '';
    return el('span', {}, s, act('move', async () => {
      const body = { name: d.name, type: d.type };
      if (s.value) body.parent = s.value;
      if (d.gln) body.gln = d.gln;
      const r = await api('PUT', '/api/v1/admin/dealers/' + encodeURIComponent(d.id), body);
      if (r.ok) await route();
      return r;
    }));
  };
  p.append(el('h2', { text: t('dealers') }), card(null, table([
    ['pname', (d) => '— '.repeat(d.depth) + d.name], ['id', (d) => d.id], ['type', (d) => t(d.type)],
    ['gln', (d) => d.gln || ''], ['parent', move]], ds)), add, terr);
  /* Drawn once the page is on screen: a map needs its size. */
  return async () => { paint = await regionMap(mapBox, area); };
}

async function channels(p) {
  const ds = await dealerList();
  const f = form('bind', [el('div', { class: 'fields' }, fld('code', 'code', inp()),
    fld('dealer', 'dealer', dealerSel(ds)), fld('type', 'type', sel([['store', 'store'], ['staff', 'staff_t'],
      ['dealer', 'dealer']], 'store')), fld('name', 'pname', inp()))], 'bind', (f) =>
    api('POST', '/api/v1/admin/channels', { code: val(f, 'code'), dealer: val(f, 'dealer'), type: val(f, 'type'),
      name: val(f, 'name') }), (res, f) => {
    f.querySelector(':scope > .actions .ok').textContent = fill(t('bound'), { s: res.body.serial });
    showQr(f);
  });
  /* The code's symbol as its batch printed it, to print again for a counter or a badge. */
  const qr = el('div', { class: 'qr' });
  const showQr = async (f) => {
    const url = '/api/v1/admin/channels/qr?code=' + encodeURIComponent(val(f, 'code'));
    const r = await fetch(url, { credentials: 'same-origin' });
    if (!r.ok) {
      let j = null;
      try { j = await r.json(); } catch (e) { j = null; }
      return { ok: false, status: r.status, body: j };
    }
    /* The same address again: the browser has it cached (no blob: URLs under the CSP). */
    qr.replaceChildren(el('img', { src: url, alt: t('qr') + ' ' + val(f, 'code'), id: 'channel-qr' }),
      el('a', { href: url, download: 'channel-' + val(f, 'code').slice(-24) + '.svg', text: t('qr') + ' SVG' }));
    return { ok: true };
  };
  f.querySelector(':scope > .actions').append(act('show_qr', () => showQr(f)));
  p.append(el('h2', { text: t('channels') }), f, qr);
}

async function batches(p) {
  const file = inp('file', { accept: 'application/json,.json' });
  const imp = form('import', [fld('manifest', 'manifest', file)], 'import', async () => {
    const text = file.files[0] ? await file.files[0].text() : '';
    return api('POST', '/api/v1/batches', text, true);
  }, (res, f) => {
    f.querySelector(':scope > .actions .ok').textContent = fill(t('imported'), { b: res.body.batch || '' });
    return listed();
  });
  const rev = form('revoke_h', [el('div', { class: 'fields' }, fld('batch', 'batch', inp()),
    fld('reason', 'reason', inp()))], 'revoke', (f) => api('POST', '/api/v1/admin/revocations',
    { batch: val(f, 'batch'), reason: val(f, 'reason') }), async (res, f) => {
    f.querySelector(':scope > .actions .ok').textContent = t('revoked');
    await listed();
  });
  const box = el('div');
  const listed = async () => {
    const r = await api('GET', '/api/v1/admin/batches');
    box.replaceChildren(card('list', table([['batch', (b) => el('code', { text: b.batch })],
      ['kind', (b) => t('k_' + b.kind)], ['count', (b) => fmt(b.count)], ['first_serial', (b) => b.first_serial],
      ['gtin', (b) => b.gtin || ''], ['lot', (b) => b.lot || ''], ['imported_at', (b) => chinaTime(b.imported_at)],
      ['status', (b) => (b.revoked ? t('some_revoked') : act('revoke', async () => {
        rev.querySelector('[data-f=batch]').value = b.batch;
        rev.querySelector('[data-f=reason]').focus();
        return { ok: true };
      }, 'danger'))]], (r.body && r.body.batches) || [])));
  };
  await listed();
  p.append(el('h2', { text: t('batches') }), imp, rev, box);
}

async function claims(p) {
  const res = await api('GET', '/api/v1/admin/claims?status=held');
  const rows = (res.body && res.body.claims) || [];
  const review = (c) => {
    const reason = inp('text', { placeholder: t('reason') });
    reason.dataset.f = 'reason';
    const out = el('span', { class: 'ok' });
    const go = (how) => act(how, async () => {
      const r = await api('POST', '/api/v1/admin/claims/' + c.id + '/' + how, { reason: reason.value.trim() });
      if (r.ok) {
        out.textContent = t(how === 'release' ? 'released' : 'rejected');
        reason.disabled = true;
      }
      return r;
    }, how === 'reject' ? 'danger' : 'primary');
    return el('div', { class: 'review' }, reason, go('release'), go('reject'), out);
  };
  p.append(el('h2', { text: t('claims') }), card(null, table([['id', (c) => c.id], ['at', (c) => chinaTime(c.at)],
    ['campaign', (c) => c.campaign], ['serial', (c) => c.serial], ['consumer', (c) => c.consumer],
    ['reason', review]], rows)));
}

async function payouts(p) {
  const res = await api('GET', '/api/v1/admin/payouts?status=pending');
  const rows = (res.body && res.body.payouts) || [];
  const picked = new Set();
  const box = (r) => {
    const c = inp('checkbox', { 'aria-label': String(r.id) });
    c.addEventListener('change', () => (c.checked ? picked.add(r.id) : picked.delete(r.id)));
    return c;
  };
  const done = el('span', { class: 'ok' });
  p.append(el('h2', { text: t('payouts') }), card(null, table([['', box], ['id', (r) => r.id],
    ['campaign', (r) => r.campaign], ['consumer', (r) => r.consumer], ['cents', (r) => fmt(r.cents)],
    ['created', (r) => chinaTime(r.created_at)]], rows),
  el('div', { class: 'actions' }, act('mark_paid', async () => {
    const r = await api('POST', '/api/v1/admin/payouts/mark-paid', { ids: [...picked] });
    if (r.ok) {
      await route();
      $('page').querySelector('.actions .ok').textContent = fill(t('paid'), { n: r.body.paid });
    }
    return r;
  }, 'primary'), done, el('a', { href: '/api/v1/admin/payouts?status=pending&format=csv', text: t('csv') }))));
}

async function tokens(p) {
  const res = await api('GET', '/api/v1/admin/tokens');
  const ds = await dealerList();
  const secret = el('div');
  const f = form('create', [el('div', { class: 'fields' }, fld('role', 'role', sel([['ops', 'ops'],
    ['dealer', 'dealer'], ['admin', 'admin']], 'ops')), fld('dealer', 'dealer', dealerSel(ds)),
  fld('name', 'pname', inp()))], 'create', (f) => {
    const body = { role: val(f, 'role') };
    if (val(f, 'dealer')) body.dealer = val(f, 'dealer');
    if (val(f, 'name')) body.name = val(f, 'name');
    return api('POST', '/api/v1/admin/tokens', body);
  }, async (r) => {
    const shown = el('div', { class: 'card' }, el('p', { text: t('shown_once') }),
      el('p', { class: 'secret', id: 'new-token', text: r.body.token }));
    await route();
    $('page').querySelector('#secret-box').replaceChildren(shown);
  });
  secret.id = 'secret-box';
  const rows = (res.body && res.body.tokens) || [];
  p.append(el('h2', { text: t('tokens') }), f, secret, card(null, table([['id', (r) => r.id],
    ['role', (r) => t(r.role)], ['dealer', (r) => r.dealer || ''], ['pname', (r) => r.name || ''],
    ['created', (r) => chinaTime(r.created_at)],
    ['status', (r) => (r.revoked ? t('revoked') : act('revoke', async () => {
      const x = await api('DELETE', '/api/v1/admin/tokens/' + r.id);
      if (x.ok) await route();
      return x;
    }, 'danger'))]], rows)));
}

async function staff(p) {
  const res = await api('GET', '/api/v1/admin/staff');
  const ds = await dealerList();
  const f = form('create', [el('div', { class: 'fields' }, fld('name', 'name', inp('text', { autocomplete: 'off' })),
    fld('password', 'password', inp('password', { autocomplete: 'new-password' })),
    fld('role', 'role', sel([['admin', 'admin'], ['ops', 'ops'], ['dealer', 'dealer']], 'admin')),
    fld('dealer', 'dealer', dealerSel(ds)))], 'create', (f) => {
    const body = { name: val(f, 'name'), password: f.querySelector('[data-f=password]').value,
      role: val(f, 'role') };
    if (val(f, 'dealer')) body.dealer = val(f, 'dealer');
    return api('POST', '/api/v1/admin/staff', body);
  }, () => route());
  const rows = (res.body && res.body.staff) || [];
  p.append(el('h2', { text: t('staff') }), f, card(null, table([['name', (r) => r.name], ['role', (r) => t(r.role)],
    ['dealer', (r) => r.dealer || ''], ['created', (r) => chinaTime(r.created_at)],
    ['status', (r) => (r.disabled ? t('disabled') : act('disable', async () => {
      const x = await api('DELETE', '/api/v1/admin/staff/' + encodeURIComponent(r.name));
      if (x.ok) await route();
      return x;
    }, 'danger'))]], rows)));
}

const pages = { products, campaigns, dealers, channels, batches, claims, payouts, tokens, staff };

/* Draws the page the address names; resolves once it is drawn. */
async function route() {
  if (!who) return;
  const name = (location.hash || '#products').slice(1);
  const draw = pages[name] || products;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('on', a.getAttribute('href') === '#' + name);
  const p = $('page');
  const fresh = el('section', { id: 'page' });
  const after = await draw(fresh);
  p.replaceWith(fresh);
  if (typeof after === 'function') await after();
  document.body.dataset.page = name;
  document.body.dataset.drawn = String(Date.now());
}

function applyLang() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  for (const e of document.querySelectorAll('[data-t]')) e.textContent = t(e.dataset.t);
  $('lang').textContent = lang === 'zh' ? 'English' : '中文';
  $('who').textContent = who ? t(who.role) : '';
}

function enterLogin() {
  who = null;
  csrf = '';
  $('page').hidden = true;
  $('nav').hidden = true;
  $('logout').hidden = true;
  $('login').hidden = false;
  $('page').replaceChildren();
  applyLang();
}

async function enter(session) {
  if (session.role !== 'admin') {
    await fetch('/api/v1/session', { method: 'DELETE', credentials: 'same-origin',
      headers: { 'X-Yima-CSRF': session.csrf || '' } });
    enterLogin();
    $('login-error').textContent = t('admins_only');
    return;
  }
  who = session;
  csrf = session.csrf || '';
  $('login').hidden = true;
  $('nav').hidden = false;
  $('logout').hidden = false;
  $('page').hidden = false;
  applyLang();
  await route();
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('login-error').textContent = '';
  const token = $('l-token').value.trim();
  const body = token ? { token } : { name: $('l-name').value.trim(), password: $('l-password').value };
  const r = await fetch('/api/v1/session', { method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  $('l-password').value = '';
  $('l-token').value = '';
  if (!r.ok) {
    $('login-error').textContent = t(r.status === 429 ? 'locked' : 'bad_login');
    return;
  }
  await enter(await r.json());
});

$('logout').addEventListener('click', async () => {
  await api('DELETE', '/api/v1/session');
  enterLogin();
});

$('lang').addEventListener('click', async () => {
  lang = lang === 'zh' ? 'en' : 'zh';
  localStorage.setItem('yima.lang', lang);
  applyLang();
  await route();
});

window.addEventListener('hashchange', () => route());

applyLang();
fetch('/api/v1/session', { credentials: 'same-origin' }).then(async (r) => {
  if (r.ok) await enter(await r.json());
  else enterLogin();
}).catch(() => enterLogin());
