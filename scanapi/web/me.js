/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A consumer's own page (/me, linked from the landing page): their points,
 * tier and what the next needs, their prizes and how to collect them, the
 * catalogue, their history, and the export and erasure of their data. The
 * consumer is the yima_cid cookie the scans set; no other id is asked for.
 */
'use strict';

const T = {
  zh: {
    title: '我的积分', points: '积分', tier: '等级', cash: '待发红包', bottles: '再来一瓶',
    no_id: '还没有您的记录：扫一瓶的码后再来。', next: '再获得 {n} 成长值升级为 {t}', top: '您已是最高等级',
    prizes_h: '我的奖品', shop_h: '积分兑换', history_h: '积分记录', data_h: '我的数据',
    data_hint: '您可以下载我们保存的关于您的全部数据，或删除它（扫码记录中的位置和您的编号将被清除）。',
    export: '下载我的数据', confirm: '我确认删除我的数据，且无法恢复', erase: '删除我的数据',
    erased: '已删除。', redeem: '兑换', redeemed: '已兑换：{n}', poor: '积分不足', failed: '操作失败',
    none: '暂无', cash_prize: '现金红包 {y} 元：待发放到您的账户', voucher: '再来一瓶：到门店出示券号 {v}',
    claim: '扫码积分', prize: '奖品', commission: '佣金', redemption: '兑换', reversal: '冲正',
    reimbursement: '门店兑付', payout: '红包发放', member: '会员', silver: '白银', gold: '黄金', diamond: '钻石',
    pts: '{n} 积分'
  },
  en: {
    title: 'My points', points: 'Points', tier: 'Tier', cash: 'Red packets due', bottles: 'Free bottles',
    no_id: 'Nothing here yet: scan a bottle, then come back.', next: '{n} more growth to reach {t}',
    top: 'You are at the top tier', prizes_h: 'My prizes', shop_h: 'Spend points', history_h: 'History',
    data_h: 'My data',
    data_hint: 'You can download all we keep about you, or erase it (the places of your scans and your id go).',
    export: 'Download my data', confirm: 'I confirm: erase my data, for good', erase: 'Erase my data',
    erased: 'Erased.', redeem: 'Redeem', redeemed: 'Redeemed: {n}', poor: 'Not enough points',
    failed: 'That did not work', none: 'None yet', cash_prize: 'A red packet of ¥{y}: to be paid to you',
    voucher: 'A free bottle: show voucher {v} at a store', claim: 'scan points', prize: 'prize',
    commission: 'commission', redemption: 'redeemed', reversal: 'reversal', reimbursement: 'store refund',
    payout: 'paid out', member: 'member', silver: 'silver', gold: 'gold', diamond: 'diamond', pts: '{n} points'
  }
};

const $ = (id) => document.getElementById(id);
let lang = localStorage.getItem('yima.lang') ||
  (navigator.language && navigator.language.toLowerCase().startsWith('zh') ? 'zh' : 'en');
const t = (k) => T[lang][k] || k;
const fill = (s, o) => s.replace(/\{(\w+)\}/g, (m, k) => (k in o ? String(o[k]) : m));
const fmt = (n) => Number(n).toLocaleString('en-US');
let me = null;

function li(left, right) {
  const e = document.createElement('li');
  const a = document.createElement('span');
  a.textContent = left;
  e.append(a);
  if (right != null) e.append(right);
  return e;
}
function list(ul, items) {
  ul.replaceChildren(...items);
  if (items.length === 0) ul.append(li(t('none')));
}
const day = (iso) => new Date(Date.parse(iso) + 8 * 3600e3).toISOString().slice(0, 16).replace('T', ' ');

function draw() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  for (const e of document.querySelectorAll('[data-t]')) e.textContent = t(e.dataset.t);
  $('lang').textContent = lang === 'zh' ? 'English' : '中文';
  if (!me) return;
  $('points').textContent = fmt(me.points);
  $('tier').textContent = t(me.tier);
  $('cash').textContent = '¥' + (me.cash_pending_cents / 100).toFixed(2);
  $('bottles').textContent = fmt(me.vouchers_bottles);
  $('next').textContent = me.next_tier ? fill(t('next'), { n: fmt(Math.max(0, me.next_tier.growth - me.growth)),
    t: t(me.next_tier.name) }) : t('top');
  /* Prizes: a red packet is paid to them; a voucher is collected at a store. */
  list($('prizes'), me.history.filter((h) => h.kind === 'prize' && h.unit !== 'points').map((h) =>
    li(day(h.at), document.createTextNode(h.unit === 'cents'
      ? fill(t('cash_prize'), { y: (h.amount / 100).toFixed(2) })
      : fill(t('voucher'), { v: h.ref || '' })))));
  list($('history'), me.history.filter((h) => h.unit === 'points').map((h) =>
    li(day(h.at) + ' ' + t(h.kind), document.createTextNode((h.amount > 0 ? '+' : '') + fmt(h.amount)))));
}

async function load() {
  const r = await fetch('/api/v1/consumers/me', { credentials: 'same-origin', cache: 'no-store' });
  if (!r.ok) {
    me = null;
    $('me').hidden = true;
    $('none').hidden = false;
    draw();
    return;
  }
  me = await r.json();
  $('me').hidden = false;
  $('none').hidden = true;
  draw();
  const c = await fetch('/api/v1/catalogue', { cache: 'no-store' });
  const items = c.ok ? (await c.json()).items || [] : [];
  list($('shop'), items.map((it) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = t('redeem') + ' · ' + fill(t('pts'), { n: fmt(it.points) });
    b.disabled = me.points < it.points;
    b.addEventListener('click', () => redeem(it));
    return li(it.name, b);
  }));
  document.body.dataset.loaded = String(Date.now());
}

async function redeem(it) {
  const key = Array.from(crypto.getRandomValues(new Uint8Array(16)), (x) => x.toString(16).padStart(2, '0')).join('');
  const r = await fetch('/api/v1/redemptions', { method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ item: it.id, key }) });
  $('shop-msg').textContent = r.ok ? fill(t('redeemed'), { n: it.name }) : r.status === 409 ? t('poor') : t('failed');
  await load();
}

$('confirm').addEventListener('change', () => { $('erase').disabled = !$('confirm').checked; });
$('erase').addEventListener('click', async () => {
  const r = await fetch('/api/v1/consumers/me', { method: 'DELETE', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ confirm: true }) });
  $('erase-msg').textContent = r.ok ? t('erased') : t('failed');
  if (r.ok) {
    me = null;
    $('confirm').checked = false;
    $('erase').disabled = true;
    for (const id of ['points', 'tier', 'cash', 'bottles']) $(id).textContent = '–';
    document.body.dataset.erased = '1';
  }
});
$('lang').addEventListener('click', () => {
  lang = lang === 'zh' ? 'en' : 'zh';
  localStorage.setItem('yima.lang', lang);
  draw();
});

draw();
load();
