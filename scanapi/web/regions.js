/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Regions by name, shared by the dashboard and the console: a picker of
 * province, city and county (the names from GET /api/v1/regions), and a
 * list of regions built with it (a territory, a campaign's regions). The
 * API takes a region as a code prefix: 33 a province, 3301 a city,
 * 330106 a county; the picker gives and takes that form.
 */
'use strict';

window.YimaRegions = (() => {
  const lists = new Map();	/* parent code -> Promise of its regions */
  const names = new Map();	/* 6-digit code -> name */
  let located = 2;		/* the finest level scans are placed at */

  /* An answer is kept, a 404 too (no such region); a failure (offline,
   * not logged in yet) is asked again next time. */
  function children(parent) {
    if (!lists.has(parent)) {
      lists.set(parent, fetch('/api/v1/regions' + (parent ? '?parent=' + parent : ''),
        { credentials: 'same-origin' })
        .then((r) => {
          if (r.ok || r.status === 404) return r.ok ? r.json() : { regions: [] };
          throw new Error(String(r.status));
        })
        .then((j) => {
          if (j.located_levels) located = j.located_levels;
          for (const x of j.regions || []) names.set(x.code, x.name);
          return j.regions || [];
        })
        .catch(() => {
          lists.delete(parent);
          return [];
        }));
    }
    return lists.get(parent);
  }
  /* 330000 -> 33, 330100 -> 3301, 330106 stays; and back. */
  const prefix = (c) => (c.endsWith('0000') ? c.slice(0, 2) : c.endsWith('00') ? c.slice(0, 4) : c);
  const full = (p) => (p + '000000').slice(0, 6);
  const nameOf = (p) => names.get(full(p)) || '';
  /* A region's name, its province's and city's before it once known: 浙江省 杭州市. */
  async function label(p) {
    const c = full(p);
    await children('');
    if (c.slice(2) !== '0000') await children(c.slice(0, 2) + '0000');
    if (c.slice(4) !== '00') await children(c.slice(0, 4) + '00');
    const parts = [c.slice(0, 2) + '0000'];
    if (c.slice(2) !== '0000') parts.push(c.slice(0, 4) + '00');
    if (c.slice(4) !== '00') parts.push(c);
    const n = [...new Set(parts)].map((x) => names.get(x)).filter(Boolean);
    return n.length ? n.join(' ') : p;
  }

  /*
   * Three selects; words is { all, province, city, county }. onChange(value)
   * after a choice; value() is the finest chosen as a prefix ('' for all).
   * Counties are offered only where scans are placed in them (county
   * shapes installed): a county a scan cannot fall in would filter or
   * scope nothing.
   */
  function picker(words, onChange) {
    const box = document.createElement('span');
    box.className = 'region-picker';
    const sels = ['province', 'city', 'county'].map((k) => {
      const s = document.createElement('select');
      s.setAttribute('aria-label', words[k]);
      s.dataset.level = k;
      box.append(s);
      return s;
    });
    const gens = [0, 0, 0];
    /* Fills select i with the regions under parent; a later fill of the
     * same select wins over one whose answer comes late. */
    async function fill(i, parent, chosen) {
      const s = sels[i];
      const gen = ++gens[i];
      const all = await (i === 0 || parent ? children(parent) : []);
      if (gen !== gens[i]) return;
      const rows = all.filter((r) => r.level <= located);
      s.replaceChildren(new Option(i ? words[sels[i].dataset.level] + ' · ' + words.all : words.all, ''));
      for (const r of rows) s.append(new Option(r.name, r.code));
      s.hidden = i > 0 && rows.length === 0;
      s.value = rows.some((r) => r.code === chosen) ? chosen : '';
    }
    const value = () => {
      for (let i = 2; i >= 0; i--) if (!sels[i].hidden && sels[i].value) return prefix(sels[i].value);
      return '';
    };
    /* A choice counts at once; the names under it follow when loaded. */
    sels.forEach((s, i) => s.addEventListener('change', async () => {
      for (let j = i + 1; j < 3; j++) sels[j].value = '';
      if (onChange) onChange(value());
      for (let j = i + 1; j < 3; j++) await fill(j, j === i + 1 ? s.value : '', '');
    }));
    /* Shows p (a prefix, or ''): its province, city and county chosen. */
    async function set(p) {
      const c = p ? full(p) : '';
      const prov = c ? c.slice(0, 2) + '0000' : '';
      await fill(0, '', prov);
      await fill(1, sels[0].value, '');
      if (c && c.slice(2) !== '0000') {
        /* A county's city, or its municipality's only one (500100 for 500229). */
        let city = c.slice(0, 4) + '00';
        const opts = [...sels[1].options].map((o) => o.value).filter(Boolean);
        if (!opts.includes(city) && opts.length === 1) city = opts[0];
        sels[1].value = opts.includes(city) ? city : '';
      }
      await fill(2, sels[1].value, c && c.slice(4) !== '00' ? c : '');
    }
    set('');
    return { el: box, value, set };
  }

  /*
   * A list of regions: a picker, an Add button and the chosen ones as
   * chips with a remove button. onChange(codes) after each change.
   */
  function list(words, onChange) {
    let codes = [];
    const box = document.createElement('div');
    box.className = 'region-list';
    const p = picker(words);
    const add = document.createElement('button');
    add.type = 'button';
    add.textContent = words.add;
    const chips = document.createElement('ul');
    chips.className = 'chips';
    async function draw() {
      chips.replaceChildren();
      for (const c of codes) {
        const li = document.createElement('li');
        li.dataset.code = c;
        const rm = document.createElement('button');
        rm.type = 'button';
        rm.textContent = '×';
        rm.setAttribute('aria-label', words.remove + ' ' + c);
        rm.addEventListener('click', () => set(codes.filter((x) => x !== c)));
        li.append(document.createTextNode(c + ' '), rm);
        chips.append(li);
        label(c).then((n) => { li.firstChild.textContent = (n !== c ? n + ' ' : '') + c + ' '; });
      }
    }
    function set(next) {
      /* A region inside another on the list adds nothing. */
      codes = [...new Set(next)].filter((c) => !next.some((o) => o !== c && c.startsWith(o))).sort();
      draw();
      if (onChange) onChange(codes);
    }
    add.addEventListener('click', () => {
      const v = p.value();
      if (v) set(codes.concat([v]));
    });
    const toggle = (c) => set(codes.includes(c) ? codes.filter((x) => x !== c) : codes.concat([c]));
    box.append(p.el, add, chips);
    return { el: box, codes: () => codes.slice(), set, toggle, picker: p };
  }

  return { children, picker, list, label, nameOf, prefix, full };
})();
