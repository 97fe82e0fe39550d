#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Supply-chain simulator: plants known diversions in a running yima-scanapi.

Mints items, boxes and pallets with yima-codegen, imports them, builds a
dealer tree with territories, packs, ships, records receipts and scans
from chosen places, and writes a JSON plan of exactly what it planted:
every diversion event the server should report and the alert level each
owner should reach. Deterministic for a given --seed. Standard library
only; every request goes to --scanapi-url (keep it on loopback).

With --marketing it plants what the brand's reports must find instead:
two A/B tests on campaigns (one arm known to convert better, then two
equal arms), channel codes with known conversion, and consumers whose
lifecycle stage follows; the plan is what its own log counts (see
marketing() below).

Usage (what tests/check_scanapi.c runs):
  simulate.py --scanapi-url http://127.0.0.1:PORT --admin-token T
      --ops-token T --codegen build/yima-codegen --keyring KR
      --scanapi build/yima-scanapi --db scan.db --workdir DIR --seed 1
      --out plan.json [--alert-level1 5] [--regions assets/regions.txt]

The tree (ids get --prefix):
  dist  distributor  territory 31 (Shanghai)
   |- da  dealer     territory 3101 (Shanghai city)
   |   `- sa  store  territory 3301 (Hangzhou: its own overrides da's)
   `- db  dealer     territory 4401 (Guangzhou)
       `- sb  store  no territory: inherits 4401 from db

Places are WGS84 city centres; the simulator checks each against the
region data itself (finest region, and more than 1.5 km from every
edge), and finds a point ~300 m from the Guangzhou/Foshan border on each
side for the uncertain (near_border) case.
"""
import argparse
import csv
import datetime
import json
import math
import os
import random
import subprocess
import sys
import urllib.error
import urllib.request

DOMAIN = "yima.example.com"

# name: (lat, lon, region expected)
PLACES = {
    "shanghai": (31.2304, 121.4737, "310100"),
    "guangzhou": (23.1291, 113.2644, "440100"),
    "beijing": (39.9042, 116.4074, "110100"),
    "shenzhen": (22.5431, 114.0579, "440300"),
    "hangzhou": (30.2741, 120.1551, "330100"),
    "tokyo": (35.6762, 139.6503, None),
}


class SimError(Exception):
    pass


def die(msg):
    sys.stderr.write("simulate.py: %s\n" % msg)
    sys.exit(1)


# ---- geometry: a mirror of scanapi/geo.c ----

def _outside_china(lat, lon):
    return lon < 72.004 or lon > 137.8347 or lat < 0.8293 or lat > 55.8271


def _tr_lat(x, y):
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + \
        0.2 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) +
          20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(y * math.pi) +
          40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    r += (160.0 * math.sin(y / 12.0 * math.pi) +
          320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return r


def _tr_lon(x, y):
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + \
        0.1 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) +
          20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(x * math.pi) +
          40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    r += (150.0 * math.sin(x / 12.0 * math.pi) +
          300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return r


def wgs84_to_gcj02(lat, lon):
    a, ee = 6378245.0, 0.00669342162296594323
    if _outside_china(lat, lon):
        return lat, lon
    dlat = _tr_lat(lon - 105.0, lat - 35.0)
    dlon = _tr_lon(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - ee * math.sin(rad) ** 2
    sq = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((a * (1 - ee)) / (magic * sq) * math.pi)
    dlon = (dlon * 180.0) / (a / sq * math.cos(rad) * math.pi)
    return lat + dlat, lon + dlon


def gcj02_to_wgs84(glat, glon):
    """Inverts wgs84_to_gcj02 by fixed-point iteration (~1e-9 degrees)."""
    lat, lon = glat, glon
    for _ in range(30):
        y, x = wgs84_to_gcj02(lat, lon)
        lat -= y - glat
        lon -= x - glon
    return lat, lon


class Regions:
    """Regions of scripts/regions.sh: rings of GCJ-02 (lon, lat)."""

    def __init__(self, path):
        self.regions = []      # (code, level, [ring, ...], bbox)
        cur = None
        with open(path, encoding="utf-8") as f:
            for line in f:
                # N lines name shapeless counties: nothing to place.
                if line.startswith(("#", "N ")) or not line.strip():
                    continue
                if line.startswith("R "):
                    p = line.split()
                    cur = [p[1], int(p[2]), [], None]
                    self.regions.append(cur)
                    continue
                v = line.split()
                n = int(v[0])
                cur[2].append([(float(v[1 + 2 * i]), float(v[2 + 2 * i]))
                               for i in range(n)])
        for r in self.regions:
            xs = [p[0] for ring in r[2] for p in ring]
            ys = [p[1] for ring in r[2] for p in ring]
            r[3] = (min(xs), min(ys), max(xs), max(ys))
        self.by_code = {r[0]: r for r in self.regions}

    @staticmethod
    def _inside(r, x, y):
        minx, miny, maxx, maxy = r[3]
        if x < minx or x > maxx or y < miny or y > maxy:
            return False
        inside = False
        for ring in r[2]:
            n = len(ring)
            for i in range(n):
                x1, y1 = ring[i - 1]
                x2, y2 = ring[i]
                if (y1 > y) != (y2 > y) and \
                        x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
                    inside = not inside
        return inside

    @staticmethod
    def _seg_km(x1, y1, x2, y2, x, y):
        k = math.cos(y * math.pi / 180.0)
        ax, ay = (x1 - x) * k, y1 - y
        bx, by = (x2 - x) * k, y2 - y
        dx, dy = bx - ax, by - ay
        l2 = dx * dx + dy * dy
        t = -(ax * dx + ay * dy) / l2 if l2 > 0 else 0
        t = min(max(t, 0.0), 1.0)
        return math.hypot(ax + t * dx, ay + t * dy) * 111.2

    def lookup(self, lat, lon):
        """(finest region code or None, km to the nearest edge)."""
        y, x = wgs84_to_gcj02(lat, lon)
        best = None
        for r in self.regions:
            if self._inside(r, x, y) and (best is None or r[1] > best[1]):
                best = r
        near = float("inf")
        for r in self.regions:
            minx, miny, maxx, maxy = r[3]
            if x < minx - 0.1 or x > maxx + 0.1 or y < miny - 0.1 or \
                    y > maxy + 0.1:
                continue
            for ring in r[2]:
                for i in range(len(ring)):
                    x1, y1 = ring[i - 1]
                    x2, y2 = ring[i]
                    if min(x1, x2) > x + 0.05 or max(x1, x2) < x - 0.05 or \
                            min(y1, y2) > y + 0.05 or max(y1, y2) < y - 0.05:
                        continue
                    near = min(near, self._seg_km(x1, y1, x2, y2, x, y))
        return (best[0] if best else None), near

    def border_points(self, a, b, rng, off_km=0.3):
        """WGS84 points ~off_km either side of an edge a and b share:
        {a: (lat, lon), b: (lat, lon)}."""
        ra, rb = self.by_code[a], self.by_code[b]
        va = set(p for ring in ra[2] for p in ring)
        shared = []
        for ring in rb[2]:
            for i in range(len(ring)):
                p, q = ring[i - 1], ring[i]
                if p in va and q in va and p != q:
                    shared.append((p, q))
        # Long edges first: the offset points stay clear of corners.
        shared = [s for s in shared
                  if self._seg_km(s[1][0], s[1][1], s[1][0], s[1][1],
                                  s[0][0], s[0][1]) > 1.5]
        shared.sort()
        rng.shuffle(shared)
        for p, q in shared:
            mx, my = (p[0] + q[0]) / 2, (p[1] + q[1]) / 2
            k = math.cos(my * math.pi / 180.0)
            dx, dy = (q[0] - p[0]) * k, q[1] - p[1]
            n = math.hypot(dx, dy)
            # The unit normal, in degrees of lon and lat.
            nx, ny = -dy / n / k, dx / n
            d = off_km / 111.2
            out = {}
            for sgn in (1, -1):
                gx, gy = mx + sgn * nx * d, my + sgn * ny * d
                lat, lon = gcj02_to_wgs84(gy, gx)
                code, near = self.lookup(lat, lon)
                if near < 0.9 and code in (a, b) and code not in out:
                    out[code] = (round(lat, 6), round(lon, 6))
            if len(out) == 2:
                # Rounding moved them by < 0.1 m: check again.
                if all(self.lookup(*out[c])[0] == c and
                       self.lookup(*out[c])[1] < 0.9 for c in out):
                    return out
        raise SimError("no usable border between %s and %s" % (a, b))


# ---- the service ----

class Api:
    def __init__(self, url, log):
        self.url = url.rstrip("/")
        self.log = log

    def call(self, method, path, token=None, body=None, expect=(200,),
             raw=None):
        data = raw if raw is not None else \
            (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data,
                                     method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, text = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read()
        except (urllib.error.URLError, OSError) as e:
            raise SimError("%s %s: %s" % (method, path, e))
        try:
            answer = json.loads(text) if text else None
        except ValueError:
            answer = None
        self.log.append({"method": method, "path": path, "status": status})
        if status not in expect:
            raise SimError("%s %s answered %d, expected %s: %s" % (
                method, path, status, "/".join(map(str, expect)),
                text[:500].decode("utf-8", "replace")))
        return status, answer


def run(argv, what):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    if p.returncode != 0:
        raise SimError("%s exited %d: %s" % (what, p.returncode,
                       p.stderr.decode("utf-8", "replace").strip()))
    return p.stdout.decode()


def mint(a, kind, count, name, inner=False):
    out = os.path.join(a.workdir, name)
    run([a.codegen, "mint", "--keyring", a.keyring, "--kind", kind,
         "--count", str(count), "--domain", DOMAIN, "--out", out,
         "--no-sync"] + (["--inner"] if inner else []), "yima-codegen mint")
    with open(os.path.join(out, "codes.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    with open(os.path.join(out, "manifest.json"), "rb") as f:
        manifest = f.read()
    b = {"dir": out, "manifest": manifest,
         "codes": [r["code"] for r in rows],
         "serials": [int(r["serial"]) for r in rows]}
    if inner:
        with open(os.path.join(out, "inner.csv"), newline="") as f:
            b["caps"] = [r["inner_code"] for r in csv.DictReader(f)]
    return b


def simulate(a):
    rng = random.Random(a.seed)
    log = []
    api = Api(a.scanapi_url, log)
    geo = Regions(a.regions)
    n1 = a.alert_level1
    pre = a.prefix
    ids = {k: pre + k for k in ("dist", "da", "db", "sa", "sb")}

    # Places: checked against the data, plus the border pair.
    places = {}
    for name, (lat, lon, want) in sorted(PLACES.items()):
        code, near = geo.lookup(lat, lon)
        if code != want or (want is not None and near < 1.5):
            raise SimError("place %s resolves to %s, %.2f km from an edge;"
                           " expected %s, clear of edges" %
                           (name, code, near, want))
        places[name] = {"lat": lat, "lon": lon, "region": want,
                        "near_border": False}
    border = geo.border_points("440100", "440600", rng)
    for code, tag in (("440100", "gz_border"), ("440600", "fs_border")):
        places[tag] = {"lat": border[code][0], "lon": border[code][1],
                       "region": code, "near_border": True}

    # Goods: items in boxes of --items, boxes on pallets of --boxes.
    npal, nbox, nit = a.pallets, a.boxes, a.items
    items = mint(a, "item", npal * nbox * nit + 4, "items")
    boxes = mint(a, "box", npal * nbox, "boxes")
    pallets = mint(a, "pallet", npal, "pallets")
    for b in (items, boxes, pallets):
        api.call("POST", "/api/v1/batches", a.admin_token,
                 raw=b["manifest"], expect=(200, 201))
    serial_of = {}
    for b in (items, boxes, pallets):
        serial_of.update(zip(b["codes"], b["serials"]))

    # The dealer tree and its territories.
    tree = [("dist", "distributor", None, ["31"]),
            ("da", "dealer", "dist", ["3101"]),
            ("db", "dealer", "dist", ["4401"]),
            ("sa", "store", "da", ["3301"]),
            ("sb", "store", "db", None)]
    for key, typ, parent, terr in tree:
        body = {"id": ids[key], "name": "sim " + key, "type": typ}
        if parent:
            body["parent"] = ids[parent]
        api.call("POST", "/api/v1/admin/dealers", a.admin_token, body,
                 expect=(201,))
        if terr is not None:
            api.call("PUT", "/api/v1/admin/dealers/%s/territory" % ids[key],
                     a.admin_token, {"regions": terr}, expect=(200,))
    tokens = {}
    for key in ("da", "db", "sb"):
        out = run([a.scanapi, "token", "create", "--db", a.db, "--role",
                   "dealer", "--dealer", ids[key], "--name", "sim " + key],
                  "yima-scanapi token create")
        tokens[key] = out.strip().splitlines()[0]

    # Packing: boxes of items, pallets of boxes.
    box_items = []
    for i in range(npal * nbox):
        kids = items["codes"][i * nit:(i + 1) * nit]
        box_items.append(kids)
        _, r = api.call("POST", "/api/v1/packs", a.ops_token,
                        {"parent": boxes["codes"][i], "children": kids},
                        expect=(201,))
        if r.get("packed") != nit or r.get("ranges") != 1:
            raise SimError("pack of box %d answered %s" % (i, r))
    for p in range(npal):
        kids = boxes["codes"][p * nbox:(p + 1) * nbox]
        api.call("POST", "/api/v1/packs", a.ops_token,
                 {"parent": pallets["codes"][p], "children": kids},
                 expect=(201,))
    loose = items["codes"][npal * nbox * nit:]

    # Shipping: pallet 0 to da, pallet 1 to db; da and db pass a box on
    # to their stores; one loose item to dist; one never shipped.
    owner = {}

    def ship(token, to, codes, expect=(201,), ref=None):
        body = {"to": ids[to], "codes": codes}
        if ref:
            body["ref"] = ref
        st, _ = api.call("POST", "/api/v1/shipments", token, body,
                         expect=expect)
        return st

    ship(a.ops_token, "da", [pallets["codes"][0]], ref="SIM-P0")
    ship(a.ops_token, "db", [pallets["codes"][1 % npal]], ref="SIM-P1")
    for code in boxes["codes"][:nbox] + [pallets["codes"][0]]:
        owner[code] = "da"
    for i in range(nbox):
        for code in box_items[i]:
            owner[code] = "da"
    for code in boxes["codes"][nbox:2 * nbox] + [pallets["codes"][1]]:
        owner[code] = "db"
    for i in range(nbox, 2 * nbox):
        for code in box_items[i]:
            owner[code] = "db"
    ship(tokens["da"], "sa", [boxes["codes"][0]])
    ship(tokens["db"], "sb", [boxes["codes"][nbox]])
    for code in [boxes["codes"][0]] + box_items[0]:
        owner[code] = "sa"
    for code in [boxes["codes"][nbox]] + box_items[nbox]:
        owner[code] = "sb"
    ship(a.ops_token, "dist", [loose[0]])
    owner[loose[0]] = "dist"
    # What a dealer may not do (nothing changes).
    ship(tokens["db"], "sb", [boxes["codes"][1]], expect=(403,))
    ship(tokens["db"], "sa", [boxes["codes"][nbox + 1]], expect=(403,))

    planted = []

    def plant(code, key, region, evidence, uncertain, **extra):
        ev = {"serial": serial_of[code], "owner": ids[key],
              "region": region, "evidence": evidence,
              "uncertain": uncertain}
        ev.update(extra)
        planted.append(ev)

    # Receipts by the store sb (owner of box nbox's items): one at home,
    # one in Beijing, which is store evidence against sb.
    sb_items = list(box_items[nbox])
    rng.shuffle(sb_items)
    for place, code, kind in (("guangzhou", sb_items[0], "receive"),
                              ("beijing", sb_items[1], "open")):
        pl = places[place]
        _, r = api.call("POST", "/api/v1/receipts", tokens["sb"],
                        {"codes": [code], "kind": kind, "lat": pl["lat"],
                         "lon": pl["lon"]}, expect=(201,))
        if place == "beijing":
            plant(code, "sb", pl["region"], "store", False)

    # Scans. Each planted event is a located scan outside the owner's
    # territory; the rest are controls that must plant nothing.
    scans = []

    def scan(code, place, cid=None, expect_region=True):
        body = {"code": code}
        pl = places.get(place)
        if pl is not None:
            body["lat"], body["lon"] = pl["lat"], pl["lon"]
        if cid:
            body["consumer"] = cid
        _, r = api.call("POST", "/api/v1/scans", None, body, expect=(200,))
        got = (r.get("region") or {}).get("code")
        nb = (r.get("region") or {}).get("near_border", False)
        rec = {"serial": serial_of[code], "place": place,
               "verdict": r.get("verdict"), "scan_id": r.get("scan_id"),
               "region": got, "near_border": nb}
        scans.append(rec)
        if pl is not None and (got != pl["region"] or
                               nb != pl["near_border"]):
            raise SimError("a scan at %s (%.6f, %.6f) answered region %s "
                           "near_border %s; the data says %s %s" % (
                               place, pl["lat"], pl["lon"], got, nb,
                               pl["region"], pl["near_border"]))
        return r

    def divert(code, place, key, cid=None):
        r = scan(code, place, cid)
        pl = places[place]
        plant(code, key, pl["region"], "consumer", pl["near_border"],
              scan_id=r["scan_id"], verdict=r["verdict"])
        return r

    da_items = [c for i in range(1, nbox) for c in box_items[i]]
    db_items = [c for i in range(nbox + 1, 2 * nbox) for c in box_items[i]]
    sa_items = list(box_items[0])
    for lst in (da_items, db_items, sa_items):
        rng.shuffle(lst)
    away = ["hangzhou", "beijing", "shenzhen"]

    # da: max(N, 3) consumer events, the first three on one item by three
    # consumers (genuine, repeat, then suspect), so level 1 and never 2.
    for _ in range(3):
        divert(da_items[0], "hangzhou", "da")
    for i in range(3, max(n1, 3)):
        divert(da_items[i], away[rng.randrange(len(away))], "da")
    scan(da_items[1], "shanghai")            # at home
    scan(da_items[2], None)                  # no place
    scan(da_items[2], "tokyo")               # no region
    # db: N - 1 consumer events (below level 1) and two uncertain ones,
    # which must not count; a near-border scan at home plants nothing.
    for i in range(n1 - 1):
        divert(db_items[i], ["shenzhen", "beijing"][i % 2], "db")
    divert(db_items[n1], "fs_border", "db")
    divert(db_items[n1 + 1], "fs_border", "db")
    scan(db_items[n1 + 2], "gz_border")
    scan(db_items[n1 + 3], "guangzhou")
    # sb inherits 4401: home is Guangzhou; Shenzhen is away. With the
    # store evidence above: level 2.
    scan(sb_items[2], "guangzhou")
    divert(sb_items[3], "shenzhen", "sb")
    # sa's own territory (Hangzhou) overrides da's (Shanghai).
    scan(sa_items[0], "hangzhou")
    divert(sa_items[1], "shanghai", "sa")
    # dist: 31 covers Shanghai; Beijing is away.
    scan(loose[0], "shanghai")
    divert(loose[0], "beijing", "dist")
    # Goods nobody owns are nobody's diversion.
    scan(loose[1], "beijing")

    # Expected alerts, from what was planted.
    alerts = {}
    for key in ids:
        evs = [e for e in planted if e["owner"] == ids[key] and
               not e["uncertain"]]
        cons = sum(1 for e in evs if e["evidence"] == "consumer")
        store = sum(1 for e in evs if e["evidence"] == "store")
        level = 2 if store > 0 else 1 if cons >= n1 else 0
        alerts[ids[key]] = {"level": level, "consumer_events": cons,
                            "store_events": store}

    today = datetime.datetime.now(datetime.timezone.utc).date()
    return {
        "seed": a.seed,
        "alert_level1": n1,
        "from": (today - datetime.timedelta(days=1)).isoformat(),
        "to": (today + datetime.timedelta(days=1)).isoformat(),
        "dealers": ids,
        "tree": {ids[k]: (ids[p] if p else None) for k, _, p, _ in tree},
        "tokens": {ids[k]: t for k, t in tokens.items()},
        "places": places,
        "diversions": planted,
        "alerts": alerts,
        "scans": scans,
        "owners": {str(serial_of[c]): ids[k] for c, k in owner.items()},
        "goods": {"items": len(items["codes"]), "boxes": len(boxes["codes"]),
                  "pallets": len(pallets["codes"])},
        "requests": len(log),
    }


# ---- marketing: A/B tests, channel funnels, lifecycle stages ----

class Quota:
    """Exactly round(p * n) of n yes: a known rate, whatever n comes."""

    def __init__(self, p):
        self.p, self.n, self.yes = p, 0, 0

    def take(self):
        self.n += 1
        if self.yes < round(self.p * self.n):
            self.yes += 1
            return True
        return False


def marketing(a):
    rng = random.Random(a.seed)
    log = []
    api = Api(a.scanapi_url, log)
    geo = Regions(a.regions)
    homes = []
    for name in ("hangzhou", "shanghai"):
        lat, lon, want = PLACES[name]
        if geo.lookup(lat, lon)[0] != want:
            raise SimError("place %s is not %s in the data" % (name, want))
        homes.append((lat, lon, want))
    n1, n2, per_channel = a.ab_consumers, a.ab_equal_consumers, 30
    nch = 3
    bottles = 2 * (n1 + n2) + 2 * nch * per_channel
    goods = mint(a, "item", bottles, "bottles", inner=True)
    chans = mint(a, "channel", nch, "channels")
    for b in (goods, chans):
        api.call("POST", "/api/v1/batches", a.admin_token,
                 raw=b["manifest"], expect=(200, 201))
    free = list(range(bottles))
    rng.shuffle(free)
    consumers = {}      # id -> {"region", "genuine"}

    def scan(code, cid=None, home=None):
        body = {"code": code}
        if home is not None:
            body["lat"], body["lon"] = home[0], home[1]
        if cid:
            body["consumer"] = cid
        _, r = api.call("POST", "/api/v1/scans", None, body, expect=(200,))
        c = consumers.setdefault(r["consumer"][:24], {"region": "",
                                                      "genuine": 0})
        if r.get("verdict") == "genuine" and code not in chan_codes:
            c["genuine"] += 1
            if home is not None:
                c["region"] = home[2]
        return r

    chan_codes = set(chans["codes"])

    def campaign(body):
        _, r = api.call("POST", "/api/v1/admin/campaigns", a.admin_token,
                        body, expect=(201,))
        return r["id"]

    def pause(cid):
        api.call("PATCH", "/api/v1/admin/campaigns/%d" % cid, a.admin_token,
                 {"status": "paused"}, expect=(200,))

    base = {"start": "2026-01-01T00:00:00Z", "end": "2099-01-01T00:00:00Z",
            "claim_kind": "inner", "points": 10}

    # A test: each consumer scans a bottle (and sees their arm), opens
    # the cap at their arm's known rate, and one in five buys another.
    def experiment(name, arms, n):
        body = dict(base, name=name, variants=[
            {"name": k, "weight": 50, "landing": {"headline": k}}
            for k in arms])
        cid_ = campaign(body)
        quota = {k: Quota(p) for k, p in arms.items()}
        again = {k: Quota(0.2) for k in arms}
        seen = {k: {"exposed": 0, "claimers": 0, "repeat_buyers": 0}
                for k in arms}
        for i in range(n):
            home = homes[i % 2]
            b = free.pop()
            r = scan(goods["codes"][b], None, home)
            arm, cid = r.get("variant"), r["consumer"]
            if arm not in arms:
                raise SimError("scan answered variant %r" % (arm,))
            seen[arm]["exposed"] += 1
            if quota[arm].take():
                c = scan(goods["caps"][b], cid, home)
                if c.get("variant") != arm or not c.get("reward"):
                    raise SimError("a claim answered %s" % c)
                seen[arm]["claimers"] += 1
            if again[arm].take():
                c = scan(goods["codes"][free.pop()], cid, home)
                if c.get("variant") != arm or c.get("verdict") != "genuine":
                    raise SimError("a second bottle answered %s" % c)
                seen[arm]["repeat_buyers"] += 1
        return cid_, seen

    tests = []
    c1, seen = experiment("sim 30% vs 36%", {"A": 0.30, "B": 0.36}, n1)
    tests.append({"campaign": c1, "arms": seen, "winner": "B"})
    pause(c1)
    c2, seen = experiment("sim equal arms", {"C": 0.33, "D": 0.33}, n2)
    tests.append({"campaign": c2, "arms": seen, "winner": None})
    pause(c2)

    # Channels: a store, a salesperson's badge, a store nobody converts
    # at; each brings its consumers, who claim at its known rate, and a
    # third of those buy again.
    pre = a.prefix
    api.call("POST", "/api/v1/admin/dealers", a.admin_token,
             {"id": pre + "shop", "name": "sim shop", "type": "store"},
             expect=(201,))
    kinds = [("store", "Counter", 0.5), ("staff", "Ms Li", 0.2),
             ("store", "Window", 0.0)]
    campaign(dict(base, name="sim commission", claim_kind="item",
                  commission=2))
    funnels = {}
    for (typ, name, p), code, serial in zip(kinds, chans["codes"],
                                            chans["serials"]):
        api.call("POST", "/api/v1/admin/channels", a.admin_token,
                 {"code": code, "dealer": pre + "shop", "type": typ,
                  "name": name}, expect=(201,))
        f = {"scans": 0, "bound": 0, "claimed": 0, "repeat_buyers": 0,
             "commission_points": 0}
        buys, again = Quota(p), Quota(1 / 3)
        for i in range(per_channel):
            r = scan(code)
            f["scans"] += 1
            f["bound"] += 1
            cid = r["consumer"]
            if i % 10 == 0:             # some scan the code twice
                scan(code, cid)
                f["scans"] += 1
            if not buys.take():
                continue
            r = scan(goods["codes"][free.pop()], cid, homes[i % 2])
            if not r.get("reward"):
                raise SimError("a channel's buyer claimed nothing: %s" % r)
            f["claimed"] += 1
            f["commission_points"] += 2
            if again.take():
                r = scan(goods["codes"][free.pop()], cid, homes[i % 2])
                f["repeat_buyers"] += 1
                f["commission_points"] += 2 if r.get("reward") else 0
        funnels[str(serial)] = f

    by_region = {}
    for c in consumers.values():
        if c["genuine"] > 0:
            by_region[c["region"]] = by_region.get(c["region"], 0) + 1
    return {
        "seed": a.seed,
        "experiments": tests,
        "channels": funnels,
        "segments": {"new": sum(by_region.values()),
                     "by_region": by_region},
        "requests": len(log),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--scanapi-url", required=True)
    p.add_argument("--admin-token", required=True)
    p.add_argument("--ops-token", required=True)
    p.add_argument("--codegen", required=True, help="yima-codegen binary")
    p.add_argument("--keyring", required=True, help="the server's keyring")
    p.add_argument("--scanapi", required=True, help="yima-scanapi binary")
    p.add_argument("--db", required=True, help="the server's database")
    p.add_argument("--workdir", required=True, help="minted batches go here")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True, help="the plan (JSON)")
    p.add_argument("--alert-level1", type=int, default=5,
                   help="the server's --alert-level1")
    p.add_argument("--regions", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "assets",
        "regions.txt"), help="the server's region data")
    p.add_argument("--prefix", default="sim-", help="dealer id prefix")
    p.add_argument("--pallets", type=int, default=2)
    p.add_argument("--boxes", type=int, default=4, help="boxes per pallet")
    p.add_argument("--items", type=int, default=24, help="items per box")
    p.add_argument("--marketing", action="store_true",
                   help="plant A/B tests, channel funnels and segments")
    p.add_argument("--ab-consumers", type=int, default=1400,
                   help="consumers of the 30%% vs 36%% test")
    p.add_argument("--ab-equal-consumers", type=int, default=400,
                   help="consumers of the equal arms' test")
    a = p.parse_args()
    if a.pallets < 2 or a.boxes < 2 or a.items < a.alert_level1 + 4 or \
            a.alert_level1 < 1:
        die("need --pallets >= 2, --boxes >= 2, --items >= alert-level1 + 4"
            " and --alert-level1 >= 1")
    os.makedirs(a.workdir, exist_ok=True)
    try:
        plan = marketing(a) if a.marketing else simulate(a)
    except SimError as e:
        die(str(e))
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(plan, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, a.out)
    if a.marketing:
        print("planted %d A/B tests, %d channels, %d consumers" % (
            len(plan["experiments"]), len(plan["channels"]),
            plan["segments"]["new"]))
        return
    print("planted %d diversion events; alerts %s" % (
        len(plan["diversions"]),
        {k: v["level"] for k, v in sorted(plan["alerts"].items())}))


if __name__ == "__main__":
    main()
