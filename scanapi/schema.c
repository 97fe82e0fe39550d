/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The schema, one versioned list for both back-ends: entry i brings a
 * database to version i + 1, in SQLite's dialect and in PostgreSQL's.
 * The PostgreSQL side is the same tables with its types (BIGINT, DOUBLE
 * PRECISION, BYTEA, identity ids); its scans are partitioned by month
 * of `at` (a DEFAULT partition takes what no month does: see the README
 * for adding months and dropping old ones). Back-fills of data that only
 * an upgraded SQLite file can hold are SQLite's alone.
 */
#include "schema.h"

/* Migration 15 in what both engines take (BIGINT is SQLite's INTEGER). */
#define MIG15 \
	"ALTER TABLE prizes ADD COLUMN variant BIGINT;" \
	"ALTER TABLE claims ADD COLUMN variant TEXT;" \
	"CREATE TABLE variants (campaign BIGINT NOT NULL REFERENCES" \
	" campaigns(id), idx BIGINT NOT NULL, name TEXT NOT NULL, weight" \
	" BIGINT NOT NULL, points BIGINT, own_prizes BIGINT NOT NULL," \
	" headline TEXT NOT NULL, image_url TEXT NOT NULL, cta TEXT NOT NULL," \
	" PRIMARY KEY (campaign, idx));" \
	"CREATE TABLE ab_consumers (campaign BIGINT NOT NULL, consumer TEXT" \
	" NOT NULL, variant BIGINT NOT NULL, at BIGINT NOT NULL, item BIGINT" \
	" NOT NULL, claimed_at BIGINT, repeat_at BIGINT," \
	" PRIMARY KEY (campaign, consumer));" \
	"CREATE INDEX ab_consumers_at ON ab_consumers(at);" \
	"CREATE INDEX ab_consumers_consumer ON ab_consumers(consumer);" \
	"CREATE TABLE ab_arms (campaign BIGINT NOT NULL, variant BIGINT NOT" \
	" NULL, node BIGINT NOT NULL, exposed BIGINT NOT NULL, claimers BIGINT" \
	" NOT NULL, claims BIGINT NOT NULL, repeaters BIGINT NOT NULL, cents" \
	" BIGINT NOT NULL, points BIGINT NOT NULL," \
	" PRIMARY KEY (campaign, variant, node));" \
	"CREATE TABLE channel_consumers (channel BIGINT NOT NULL, consumer" \
	" TEXT NOT NULL, day BIGINT NOT NULL, claimed_at BIGINT, item BIGINT," \
	" repeat_at BIGINT, PRIMARY KEY (channel, consumer));" \
	"CREATE INDEX channel_consumers_day ON channel_consumers(day);" \
	"CREATE INDEX channel_consumers_consumer ON" \
	" channel_consumers(consumer);" \
	"CREATE TABLE channel_funnel (day BIGINT NOT NULL, channel BIGINT NOT" \
	" NULL, node BIGINT NOT NULL, scans BIGINT NOT NULL, bound BIGINT NOT" \
	" NULL, claimed BIGINT NOT NULL, repeats BIGINT NOT NULL, commission" \
	" BIGINT NOT NULL, PRIMARY KEY (day, channel, node));" \
	"CREATE TABLE segments (consumer TEXT PRIMARY KEY, region TEXT NOT" \
	" NULL, tier TEXT NOT NULL, stage TEXT NOT NULL, first_at BIGINT NOT" \
	" NULL, last_at BIGINT NOT NULL, item BIGINT NOT NULL, gaps TEXT NOT" \
	" NULL, due_at BIGINT);" \
	"CREATE INDEX segments_due ON segments(due_at);" \
	"CREATE INDEX segments_stage ON segments(stage, last_at);" \
	"CREATE TABLE segment_counts (region TEXT NOT NULL, stage TEXT NOT" \
	" NULL, tier TEXT NOT NULL, node BIGINT NOT NULL, n BIGINT NOT NULL," \
	" PRIMARY KEY (region, stage, tier, node));" \
	"CREATE TABLE segment_moves (month BIGINT NOT NULL, region TEXT NOT" \
	" NULL, src TEXT NOT NULL, dst TEXT NOT NULL, node BIGINT NOT NULL," \
	" n BIGINT NOT NULL, PRIMARY KEY (month, region, src, dst, node));"

#define MIG16 \
	"ALTER TABLE claims ADD COLUMN review TEXT;" \
	"ALTER TABLE claims ADD COLUMN reviewed_by TEXT;" \
	"ALTER TABLE claims ADD COLUMN reviewed_at BIGINT;"

const struct api_migration api_migrations[] = {
	/* 1: batches, ranges, revocations, scans, code state, tokens */
	{
	    "CREATE TABLE batches ("
	    "  id TEXT PRIMARY KEY,"
	    "  kind INTEGER NOT NULL,"
	    "  key_id INTEGER NOT NULL,"
	    "  first_serial INTEGER NOT NULL,"
	    "  count INTEGER NOT NULL,"
	    "  inner_first INTEGER,"
	    "  gtin TEXT, lot TEXT, line TEXT, mfg TEXT, expiry TEXT,"
	    "  domain TEXT NOT NULL,"
	    "  created TEXT NOT NULL,"
	    "  codes_sha256 TEXT NOT NULL,"
	    "  hmac TEXT NOT NULL,"
	    "  imported_at INTEGER NOT NULL);"
	    "CREATE TABLE serial_ranges ("
	    "  first INTEGER PRIMARY KEY,"
	    "  last INTEGER NOT NULL,"
	    "  kind INTEGER NOT NULL,"
	    "  batch TEXT NOT NULL REFERENCES batches(id));"
	    "CREATE INDEX serial_ranges_batch ON serial_ranges(batch);"
	    "CREATE TABLE revocations ("
	    "  id INTEGER PRIMARY KEY,"
	    "  first INTEGER NOT NULL,"
	    "  last INTEGER NOT NULL,"
	    "  reason TEXT,"
	    "  at INTEGER NOT NULL);"
	    "CREATE INDEX revocations_first ON revocations(first);"
	    "CREATE TABLE code_state ("
	    "  serial INTEGER PRIMARY KEY,"
	    "  scans INTEGER NOT NULL,"
	    "  first_at INTEGER NOT NULL,"
	    "  first_lat REAL, first_lon REAL,"
	    "  last_loc_at INTEGER, last_lat REAL, last_lon REAL);"
	    /* Scan rows are never deleted (retention coarsens them), so the
	* rowid alone gives increasing ids without AUTOINCREMENT's extra
	* write per insert. */
	    "CREATE TABLE scans ("
	    "  id INTEGER PRIMARY KEY,"
	    "  at INTEGER NOT NULL,"
	    "  serial INTEGER,"
	    "  kind INTEGER,"
	    "  verdict INTEGER NOT NULL,"
	    "  lat REAL, lon REAL, accuracy REAL,"
	    "  consumer TEXT,"
	    "  client TEXT,"
	    "  code TEXT);"
	    "CREATE INDEX scans_serial_at ON scans(serial, at)"
	    "  WHERE serial IS NOT NULL;"
	    "CREATE TABLE tokens ("
	    "  id INTEGER PRIMARY KEY,"
	    "  hash TEXT NOT NULL UNIQUE,"
	    "  role TEXT NOT NULL CHECK (role IN ('admin','ops','dealer')),"
	    "  dealer TEXT,"
	    "  name TEXT,"
	    "  created_at INTEGER NOT NULL,"
	    "  revoked_at INTEGER);",
	    /* PostgreSQL */
	    "CREATE TABLE batches ( id TEXT PRIMARY KEY, kind BIGINT NOT "
	    "NULL, key_id BIGINT NOT NULL, first_serial BIGINT NOT NULL, "
	    "count BIGINT NOT NULL, inner_first BIGINT, gtin TEXT, lot "
	    "TEXT, line TEXT, mfg TEXT, expiry TEXT, domain TEXT NOT "
	    "NULL, created TEXT NOT NULL, codes_sha256 TEXT NOT NULL, "
	    "hmac TEXT NOT NULL, imported_at BIGINT NOT NULL); CREATE "
	    "TABLE serial_ranges ( first BIGINT PRIMARY KEY, last BIGINT "
	    "NOT NULL, kind BIGINT NOT NULL, batch TEXT NOT NULL "
	    "REFERENCES batches(id)); CREATE INDEX serial_ranges_batch "
	    "ON serial_ranges(batch); CREATE TABLE revocations ( id "
	    "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, first "
	    "BIGINT NOT NULL, last BIGINT NOT NULL, reason TEXT, at "
	    "BIGINT NOT NULL); CREATE INDEX revocations_first ON "
	    "revocations(first); CREATE TABLE code_state ( serial BIGINT "
	    "PRIMARY KEY, scans BIGINT NOT NULL, first_at BIGINT NOT "
	    "NULL, first_lat DOUBLE PRECISION, first_lon DOUBLE "
	    "PRECISION, last_loc_at BIGINT, last_lat DOUBLE PRECISION, "
	    "last_lon DOUBLE PRECISION); CREATE SEQUENCE scans_id_seq; "
	    "CREATE TABLE scans ( id BIGINT NOT NULL DEFAULT nextval("
	    "'scans_id_seq'), at BIGINT NOT NULL, serial BIGINT, kind "
	    "BIGINT, verdict BIGINT NOT NULL, lat DOUBLE PRECISION, lon "
	    "DOUBLE PRECISION, accuracy DOUBLE PRECISION, consumer TEXT, "
	    "client TEXT, code TEXT, PRIMARY KEY (id, at)) PARTITION BY "
	    "RANGE (at); CREATE TABLE scans_default PARTITION OF scans "
	    "DEFAULT; CREATE INDEX scans_serial_at ON scans(serial, at) "
	    "WHERE serial IS NOT NULL; CREATE TABLE tokens ( id BIGINT "
	    "GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, hash TEXT NOT "
	    "NULL UNIQUE, role TEXT NOT NULL CHECK (role IN ('admin',"
	    "'ops','dealer')), dealer TEXT, name TEXT, created_at BIGINT "
	    "NOT NULL, revoked_at BIGINT);" },
	/* 2: the region (GB/T 2260) a located scan resolved to */
	{
	    "ALTER TABLE scans ADD COLUMN region TEXT;"
	    "ALTER TABLE scans ADD COLUMN near_border INTEGER;",
	    /* PostgreSQL */
	    "ALTER TABLE scans ADD COLUMN region TEXT; ALTER TABLE scans "
	    "ADD COLUMN near_border BIGINT;" },
	/* 3: the supply chain: dealers, territories, packs, shipments */
	{
	    "CREATE TABLE dealers ("
	    "  id TEXT PRIMARY KEY,"
	    "  name TEXT NOT NULL,"
	    "  parent TEXT REFERENCES dealers(id),"
	    "  type TEXT NOT NULL"
	    "    CHECK (type IN ('distributor','dealer','store')),"
	    "  created_at INTEGER NOT NULL);"
	    "CREATE INDEX dealers_parent ON dealers(parent);"
	    "CREATE TABLE territories ("
	    "  dealer TEXT NOT NULL REFERENCES dealers(id),"
	    "  region TEXT NOT NULL,"
	    "  PRIMARY KEY (dealer, region));"
	    /* Child serial ranges per parent; active rows never overlap. */
	    "CREATE TABLE packs ("
	    "  id INTEGER PRIMARY KEY,"
	    "  parent INTEGER NOT NULL,"
	    "  first INTEGER NOT NULL,"
	    "  last INTEGER NOT NULL,"
	    "  packed_at INTEGER NOT NULL,"
	    "  unpacked_at INTEGER);"
	    "CREATE INDEX packs_active_first ON packs(first)"
	    "  WHERE unpacked_at IS NULL;"
	    "CREATE INDEX packs_parent ON packs(parent);"
	    /* Every shipment, as serial ranges (pallets expanded), kept. */
	    "CREATE TABLE shipments ("
	    "  id INTEGER PRIMARY KEY,"
	    "  first INTEGER NOT NULL,"
	    "  last INTEGER NOT NULL,"
	    "  dealer TEXT NOT NULL REFERENCES dealers(id),"
	    "  ref TEXT,"
	    "  at INTEGER NOT NULL);"
	    "CREATE INDEX shipments_first ON shipments(first);"
	    /* The current owner of each serial: non-overlapping ranges. */
	    "CREATE TABLE owners ("
	    "  first INTEGER PRIMARY KEY,"
	    "  last INTEGER NOT NULL,"
	    "  dealer TEXT NOT NULL,"
	    "  at INTEGER NOT NULL);"
	    "CREATE TABLE receipts ("
	    "  id INTEGER PRIMARY KEY,"
	    "  serial INTEGER NOT NULL,"
	    "  dealer TEXT NOT NULL,"
	    "  kind TEXT NOT NULL CHECK (kind IN ('receive','open')),"
	    "  at INTEGER NOT NULL,"
	    "  lat REAL, lon REAL, region TEXT, near_border INTEGER);"
	    "CREATE INDEX receipts_serial ON receipts(serial);"
	    "CREATE TABLE diversions ("
	    "  id INTEGER PRIMARY KEY,"
	    "  scan_id INTEGER,"
	    "  receipt_id INTEGER,"
	    "  at INTEGER NOT NULL,"
	    "  serial INTEGER NOT NULL,"
	    "  owner TEXT NOT NULL,"
	    "  region TEXT NOT NULL,"
	    "  evidence TEXT NOT NULL CHECK (evidence IN ('consumer','store')),"
	    "  uncertain INTEGER NOT NULL);"
	    "CREATE INDEX diversions_owner_at ON diversions(owner, at);"
	    "CREATE INDEX diversions_at ON diversions(at);"
	    "CREATE TABLE channels ("
	    "  serial INTEGER PRIMARY KEY,"
	    "  dealer TEXT NOT NULL REFERENCES dealers(id),"
	    "  type TEXT NOT NULL CHECK (type IN ('dealer','store','staff')),"
	    "  name TEXT NOT NULL,"
	    "  bound_at INTEGER NOT NULL);"
	    "CREATE TABLE consumer_channels ("
	    "  consumer TEXT PRIMARY KEY,"
	    "  channel INTEGER NOT NULL,"
	    "  until INTEGER NOT NULL);"
	    "ALTER TABLE scans ADD COLUMN channel INTEGER;",
	    /* PostgreSQL */
	    "CREATE TABLE dealers ( id TEXT PRIMARY KEY, name TEXT NOT "
	    "NULL, parent TEXT REFERENCES dealers(id), type TEXT NOT "
	    "NULL CHECK (type IN ('distributor','dealer','store')), "
	    "created_at BIGINT NOT NULL); CREATE INDEX dealers_parent ON "
	    "dealers(parent); CREATE TABLE territories ( dealer TEXT NOT "
	    "NULL REFERENCES dealers(id), region TEXT NOT NULL, PRIMARY "
	    "KEY (dealer, region)); CREATE TABLE packs ( id BIGINT "
	    "GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, parent BIGINT "
	    "NOT NULL, first BIGINT NOT NULL, last BIGINT NOT NULL, "
	    "packed_at BIGINT NOT NULL, unpacked_at BIGINT); CREATE "
	    "INDEX packs_active_first ON packs(first) WHERE unpacked_at "
	    "IS NULL; CREATE INDEX packs_parent ON packs(parent); CREATE "
	    "TABLE shipments ( id BIGINT GENERATED BY DEFAULT AS "
	    "IDENTITY PRIMARY KEY, first BIGINT NOT NULL, last BIGINT "
	    "NOT NULL, dealer TEXT NOT NULL REFERENCES dealers(id), ref "
	    "TEXT, at BIGINT NOT NULL); CREATE INDEX shipments_first ON "
	    "shipments(first); CREATE TABLE owners ( first BIGINT "
	    "PRIMARY KEY, last BIGINT NOT NULL, dealer TEXT NOT NULL, at "
	    "BIGINT NOT NULL); CREATE TABLE receipts ( id BIGINT "
	    "GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, serial BIGINT "
	    "NOT NULL, dealer TEXT NOT NULL, kind TEXT NOT NULL CHECK ("
	    "kind IN ('receive','open')), at BIGINT NOT NULL, lat DOUBLE "
	    "PRECISION, lon DOUBLE PRECISION, region TEXT, near_border "
	    "BIGINT); CREATE INDEX receipts_serial ON receipts(serial); "
	    "CREATE TABLE diversions ( id BIGINT GENERATED BY DEFAULT AS "
	    "IDENTITY PRIMARY KEY, scan_id BIGINT, receipt_id BIGINT, at "
	    "BIGINT NOT NULL, serial BIGINT NOT NULL, owner TEXT NOT "
	    "NULL, region TEXT NOT NULL, evidence TEXT NOT NULL CHECK ("
	    "evidence IN ('consumer','store')), uncertain BIGINT NOT "
	    "NULL); CREATE INDEX diversions_owner_at ON diversions(owner,"
	    " at); CREATE INDEX diversions_at ON diversions(at); CREATE "
	    "TABLE channels ( serial BIGINT PRIMARY KEY, dealer TEXT NOT "
	    "NULL REFERENCES dealers(id), type TEXT NOT NULL CHECK (type "
	    "IN ('dealer','store','staff')), name TEXT NOT NULL, "
	    "bound_at BIGINT NOT NULL); CREATE TABLE consumer_channels ( "
	    "consumer TEXT PRIMARY KEY, channel BIGINT NOT NULL, until "
	    "BIGINT NOT NULL); ALTER TABLE scans ADD COLUMN channel "
	    "BIGINT;" },
	/* 4: rewards: campaigns, prizes, claims, the ledger and its uses */
	{
	    "CREATE TABLE campaigns ("
	    "  id INTEGER PRIMARY KEY,"
	    "  name TEXT NOT NULL,"
	    "  start_at INTEGER NOT NULL,"
	    "  end_at INTEGER NOT NULL,"
	    "  status TEXT NOT NULL CHECK (status IN ('active','paused','ended')),"
	    "  claim_kind INTEGER NOT NULL,"
	    "  gtins TEXT NOT NULL,"		/* comma-separated; '' all */
	    "  regions TEXT NOT NULL,"
	    "  points INTEGER NOT NULL,"
	    "  commission INTEGER NOT NULL,"
	    "  budget INTEGER,"			/* cents; NULL none */
	    "  daily_budget INTEGER,"
	    "  spent INTEGER NOT NULL DEFAULT 0,"
	    "  per_day INTEGER, per_consumer INTEGER, per_network_hour INTEGER,"
	    "  body TEXT NOT NULL,"
	    "  created_at INTEGER NOT NULL,"
	    "  CHECK (budget IS NULL OR spent <= budget));"
	    "CREATE TABLE campaign_days ("
	    "  campaign INTEGER NOT NULL REFERENCES campaigns(id),"
	    "  day INTEGER NOT NULL,"
	    "  spent INTEGER NOT NULL,"
	    "  PRIMARY KEY (campaign, day));"
	    "CREATE TABLE prizes ("
	    "  id INTEGER PRIMARY KEY,"
	    "  campaign INTEGER NOT NULL REFERENCES campaigns(id),"
	    "  name TEXT NOT NULL,"
	    "  type TEXT NOT NULL CHECK (type IN ('cash','points','voucher')),"
	    "  amount INTEGER NOT NULL,"
	    "  count INTEGER NOT NULL,"
	    "  remaining INTEGER NOT NULL CHECK (remaining >= 0),"
	    "  probability REAL NOT NULL);"
	    "CREATE INDEX prizes_campaign ON prizes(campaign);"
	    /* One row per claimed code, whatever came of it: the UNIQUE serial
	* is what makes a reward happen once, on any number of nodes. */
	    "CREATE TABLE claims ("
	    "  id INTEGER PRIMARY KEY,"
	    "  serial INTEGER NOT NULL UNIQUE,"
	    "  campaign INTEGER,"
	    "  consumer TEXT,"
	    "  network TEXT,"
	    "  at INTEGER NOT NULL,"
	    "  scan_id INTEGER,"
	    "  status TEXT NOT NULL,"
	    "  prize INTEGER,"
	    "  points INTEGER NOT NULL,"
	    "  lat REAL, lon REAL);"
	    "CREATE INDEX claims_consumer ON claims(consumer, at);"
	    "CREATE INDEX claims_network ON claims(campaign, network, at);"
	    "CREATE INDEX claims_status ON claims(status, id);"
	    "CREATE TABLE ledger ("
	    "  id INTEGER PRIMARY KEY,"
	    "  at INTEGER NOT NULL,"
	    "  account TEXT NOT NULL,"
	    "  kind TEXT NOT NULL CHECK (kind IN ('claim','prize','commission',"
	    "    'redemption','reversal','reimbursement','payout')),"
	    "  unit TEXT NOT NULL CHECK (unit IN ('points','cents','bottles')),"
	    "  amount INTEGER NOT NULL,"
	    "  claim INTEGER,"
	    "  ref TEXT);"
	    "CREATE INDEX ledger_account ON ledger(account, at);"
	    "CREATE TABLE balances ("
	    "  account TEXT NOT NULL,"
	    "  unit TEXT NOT NULL,"
	    "  amount INTEGER NOT NULL,"
	    "  PRIMARY KEY (account, unit));"
	    "CREATE TABLE vouchers ("
	    "  id TEXT PRIMARY KEY,"
	    "  claim INTEGER NOT NULL,"
	    "  campaign INTEGER NOT NULL,"
	    "  consumer TEXT NOT NULL,"
	    "  name TEXT NOT NULL,"
	    "  bottles INTEGER NOT NULL,"
	    "  created_at INTEGER NOT NULL,"
	    "  store TEXT,"
	    "  redeemed_at INTEGER);"
	    "CREATE TABLE payouts ("
	    "  id INTEGER PRIMARY KEY,"
	    "  claim INTEGER NOT NULL UNIQUE,"
	    "  campaign INTEGER NOT NULL,"
	    "  consumer TEXT NOT NULL,"
	    "  cents INTEGER NOT NULL,"
	    "  created_at INTEGER NOT NULL,"
	    "  paid_at INTEGER);"
	    "CREATE TABLE catalogue ("
	    "  id INTEGER PRIMARY KEY,"
	    "  name TEXT NOT NULL,"
	    "  points INTEGER NOT NULL,"
	    "  created_at INTEGER NOT NULL);"
	    "CREATE TABLE redemptions ("
	    "  id INTEGER PRIMARY KEY,"
	    "  consumer TEXT NOT NULL,"
	    "  key TEXT NOT NULL,"
	    "  item INTEGER NOT NULL,"
	    "  points INTEGER NOT NULL,"
	    "  at INTEGER NOT NULL,"
	    "  UNIQUE (consumer, key));"
	    "CREATE TABLE freezes ("
	    "  kind TEXT NOT NULL CHECK (kind IN ('consumer','batch')),"
	    "  id TEXT NOT NULL,"
	    "  reason TEXT,"
	    "  at INTEGER NOT NULL,"
	    "  PRIMARY KEY (kind, id));"
	    "CREATE TABLE reward_meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
	    "INSERT INTO reward_meta VALUES ('campaign_gen', 0);",
	    /* PostgreSQL */
	    "CREATE TABLE campaigns ( id BIGINT GENERATED BY DEFAULT AS "
	    "IDENTITY PRIMARY KEY, name TEXT NOT NULL, start_at BIGINT "
	    "NOT NULL, end_at BIGINT NOT NULL, status TEXT NOT NULL "
	    "CHECK (status IN ('active','paused','ended')), claim_kind "
	    "BIGINT NOT NULL, gtins TEXT NOT NULL, regions TEXT NOT NULL,"
	    " points BIGINT NOT NULL, commission BIGINT NOT NULL, budget "
	    "BIGINT, daily_budget BIGINT, spent BIGINT NOT NULL DEFAULT "
	    "0, per_day BIGINT, per_consumer BIGINT, per_network_hour "
	    "BIGINT, body TEXT NOT NULL, created_at BIGINT NOT NULL, "
	    "CHECK (budget IS NULL OR spent <= budget)); CREATE TABLE "
	    "campaign_days ( campaign BIGINT NOT NULL REFERENCES "
	    "campaigns(id), day BIGINT NOT NULL, spent BIGINT NOT NULL, "
	    "PRIMARY KEY (campaign, day)); CREATE TABLE prizes ( id "
	    "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
	    "campaign BIGINT NOT NULL REFERENCES campaigns(id), name "
	    "TEXT NOT NULL, type TEXT NOT NULL CHECK (type IN ('cash',"
	    "'points','voucher')), amount BIGINT NOT NULL, count BIGINT "
	    "NOT NULL, remaining BIGINT NOT NULL CHECK (remaining >= 0), "
	    "probability DOUBLE PRECISION NOT NULL); CREATE INDEX "
	    "prizes_campaign ON prizes(campaign); CREATE TABLE claims ( "
	    "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
	    "serial BIGINT NOT NULL UNIQUE, campaign BIGINT, consumer "
	    "TEXT, network TEXT, at BIGINT NOT NULL, scan_id BIGINT, "
	    "status TEXT NOT NULL, prize BIGINT, points BIGINT NOT NULL, "
	    "lat DOUBLE PRECISION, lon DOUBLE PRECISION); CREATE INDEX "
	    "claims_consumer ON claims(consumer, at); CREATE INDEX "
	    "claims_network ON claims(campaign, network, at); CREATE "
	    "INDEX claims_status ON claims(status, id); CREATE TABLE "
	    "ledger ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY "
	    "KEY, at BIGINT NOT NULL, account TEXT NOT NULL, kind TEXT "
	    "NOT NULL CHECK (kind IN ('claim','prize','commission', "
	    "'redemption','reversal','reimbursement','payout')), unit "
	    "TEXT NOT NULL CHECK (unit IN ('points','cents','bottles')), "
	    "amount BIGINT NOT NULL, claim BIGINT, ref TEXT); CREATE "
	    "INDEX ledger_account ON ledger(account, at); CREATE TABLE "
	    "balances ( account TEXT NOT NULL, unit TEXT NOT NULL, "
	    "amount BIGINT NOT NULL, PRIMARY KEY (account, unit)); "
	    "CREATE TABLE vouchers ( id TEXT PRIMARY KEY, claim BIGINT "
	    "NOT NULL, campaign BIGINT NOT NULL, consumer TEXT NOT NULL, "
	    "name TEXT NOT NULL, bottles BIGINT NOT NULL, created_at "
	    "BIGINT NOT NULL, store TEXT, redeemed_at BIGINT); CREATE "
	    "TABLE payouts ( id BIGINT GENERATED BY DEFAULT AS IDENTITY "
	    "PRIMARY KEY, claim BIGINT NOT NULL UNIQUE, campaign BIGINT "
	    "NOT NULL, consumer TEXT NOT NULL, cents BIGINT NOT NULL, "
	    "created_at BIGINT NOT NULL, paid_at BIGINT); CREATE TABLE "
	    "catalogue ( id BIGINT GENERATED BY DEFAULT AS IDENTITY "
	    "PRIMARY KEY, name TEXT NOT NULL, points BIGINT NOT NULL, "
	    "created_at BIGINT NOT NULL); CREATE TABLE redemptions ( id "
	    "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
	    "consumer TEXT NOT NULL, key TEXT NOT NULL, item BIGINT NOT "
	    "NULL, points BIGINT NOT NULL, at BIGINT NOT NULL, UNIQUE ("
	    "consumer, key)); CREATE TABLE freezes ( kind TEXT NOT NULL "
	    "CHECK (kind IN ('consumer','batch')), id TEXT NOT NULL, "
	    "reason TEXT, at BIGINT NOT NULL, PRIMARY KEY (kind, id)); "
	    "CREATE TABLE reward_meta (k TEXT PRIMARY KEY, v BIGINT NOT "
	    "NULL); INSERT INTO reward_meta VALUES ('campaign_gen', 0);" },
	/* 5: daily rollups for reports, kept in each scan's transaction;
		 * consumers is a distinct-consumer sketch (scanapi/sketch.h) */
	{
	    "CREATE TABLE rollups ("
	    "  day INTEGER NOT NULL,"		/* days since 1970, UTC+8 */
	    "  dealer TEXT NOT NULL,"		/* the owner then; '' none */
	    "  region TEXT NOT NULL,"
	    "  gtin TEXT NOT NULL,"
	    "  scans INTEGER NOT NULL,"
	    "  genuine INTEGER NOT NULL,"
	    "  repeat INTEGER NOT NULL,"
	    "  suspect INTEGER NOT NULL,"
	    "  claims INTEGER NOT NULL,"
	    "  consumers BLOB,"
	    "  PRIMARY KEY (day, dealer, region, gtin)) WITHOUT ROWID;"
	    /* Dashboard sessions: a cookie's SHA-256, for the token it used. */
	    "CREATE TABLE sessions ("
	    "  hash TEXT PRIMARY KEY,"
	    "  token INTEGER NOT NULL REFERENCES tokens(id),"
	    "  created_at INTEGER NOT NULL,"
	    "  expires_at INTEGER NOT NULL);"
	    /* Raw places are coarsened in scan id order, up to a watermark. */
	    "CREATE TABLE upkeep (k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
	    "INSERT INTO upkeep VALUES ('coarsened_through', 0);"
	    /* Product scans by consumers a store or salesperson brought. */
	    "CREATE TABLE rollup_channels ("
	    "  day INTEGER NOT NULL,"
	    "  channel INTEGER NOT NULL,"
	    "  scans INTEGER NOT NULL,"
	    "  PRIMARY KEY (day, channel)) WITHOUT ROWID;"
	    /* Scans from before: counted without an owner (not kept then). */
	    "INSERT INTO rollups SELECT (s.at + 28800000) / 86400000, '',"
	    "  IFNULL(s.region, ''), IFNULL(b.gtin, ''), COUNT(*),"
	    "  SUM(s.verdict = 1), SUM(s.verdict = 2), SUM(s.verdict = 3), 0,"
	    "  yima_sketch_merge(yima_sketch_add(NULL, s.consumer))"
	    "  FROM scans s JOIN serial_ranges r ON r.first = (SELECT MAX(first)"
	    "  FROM serial_ranges WHERE first <= s.serial) JOIN batches b"
	    "  ON b.id = r.batch WHERE s.verdict IN (1, 2, 3) AND s.kind = 1"
	    "  AND s.serial <= r.last GROUP BY 1, 2, 3, 4;",
	    /* PostgreSQL */
	    "CREATE TABLE rollups ( day BIGINT NOT NULL, dealer TEXT NOT "
	    "NULL, region TEXT NOT NULL, gtin TEXT NOT NULL, scans "
	    "BIGINT NOT NULL, genuine BIGINT NOT NULL, repeat BIGINT NOT "
	    "NULL, suspect BIGINT NOT NULL, claims BIGINT NOT NULL, "
	    "consumers BYTEA, PRIMARY KEY (day, dealer, region, gtin)); "
	    "CREATE TABLE sessions ( hash TEXT PRIMARY KEY, token BIGINT "
	    "NOT NULL REFERENCES tokens(id), created_at BIGINT NOT NULL, "
	    "expires_at BIGINT NOT NULL); CREATE TABLE upkeep (k TEXT "
	    "PRIMARY KEY, v BIGINT NOT NULL); INSERT INTO upkeep VALUES ("
	    "'coarsened_through', 0); CREATE TABLE rollup_channels ( day "
	    "BIGINT NOT NULL, channel BIGINT NOT NULL, scans BIGINT NOT "
	    "NULL, PRIMARY KEY (day, channel));" },
	/* 6: the same counters per report dimension, so a report reads
		 * O(days x regions) rows, not one per (region, SKU) pair; keyed by
		 * owner first for a dealer's subtree. rollups stays for a SKU report
		 * filtered by region, so it is keyed by region first now. */
	{
	    "CREATE TABLE rollups6 ("
	    "  region TEXT NOT NULL, day INTEGER NOT NULL, dealer TEXT NOT NULL,"
	    "  gtin TEXT NOT NULL,"
	    "  scans INTEGER NOT NULL, genuine INTEGER NOT NULL,"
	    "  repeat INTEGER NOT NULL, suspect INTEGER NOT NULL,"
	    "  claims INTEGER NOT NULL, consumers BLOB,"
	    "  PRIMARY KEY (region, day, dealer, gtin)) WITHOUT ROWID;"
	    "INSERT INTO rollups6 SELECT region, day, dealer, gtin, scans,"
	    "  genuine, repeat, suspect, claims, consumers FROM rollups;"
	    "DROP TABLE rollups;"
	    "ALTER TABLE rollups6 RENAME TO rollups;"
	    "CREATE TABLE rollup_regions ("
	    "  dealer TEXT NOT NULL, day INTEGER NOT NULL, region TEXT NOT NULL,"
	    "  scans INTEGER NOT NULL, genuine INTEGER NOT NULL,"
	    "  repeat INTEGER NOT NULL, suspect INTEGER NOT NULL,"
	    "  claims INTEGER NOT NULL, consumers BLOB,"
	    "  PRIMARY KEY (dealer, day, region)) WITHOUT ROWID;"
	    "CREATE TABLE rollup_skus ("
	    "  dealer TEXT NOT NULL, day INTEGER NOT NULL, gtin TEXT NOT NULL,"
	    "  scans INTEGER NOT NULL, genuine INTEGER NOT NULL,"
	    "  repeat INTEGER NOT NULL, suspect INTEGER NOT NULL,"
	    "  claims INTEGER NOT NULL, consumers BLOB,"
	    "  PRIMARY KEY (dealer, day, gtin)) WITHOUT ROWID;"
	    "CREATE TABLE rollup_gtins ("
	    "  day INTEGER NOT NULL, gtin TEXT NOT NULL,"
	    "  scans INTEGER NOT NULL, genuine INTEGER NOT NULL,"
	    "  repeat INTEGER NOT NULL, suspect INTEGER NOT NULL,"
	    "  claims INTEGER NOT NULL, consumers BLOB,"
	    "  PRIMARY KEY (day, gtin)) WITHOUT ROWID;"
	    "INSERT INTO rollup_regions SELECT dealer, day, region, SUM(scans),"
	    "  SUM(genuine), SUM(repeat), SUM(suspect), SUM(claims),"
	    "  yima_sketch_merge(consumers) FROM rollups GROUP BY 1, 2, 3;"
	    "INSERT INTO rollup_skus SELECT dealer, day, gtin, SUM(scans),"
	    "  SUM(genuine), SUM(repeat), SUM(suspect), SUM(claims),"
	    "  yima_sketch_merge(consumers) FROM rollups GROUP BY 1, 2, 3;"
	    "INSERT INTO rollup_gtins SELECT day, gtin, SUM(scans),"
	    "  SUM(genuine), SUM(repeat), SUM(suspect), SUM(claims),"
	    "  yima_sketch_merge(consumers) FROM rollups GROUP BY 1, 2;",
	    /* PostgreSQL */
	    "CREATE TABLE rollups6 ( region TEXT NOT NULL, day BIGINT "
	    "NOT NULL, dealer TEXT NOT NULL, gtin TEXT NOT NULL, scans "
	    "BIGINT NOT NULL, genuine BIGINT NOT NULL, repeat BIGINT NOT "
	    "NULL, suspect BIGINT NOT NULL, claims BIGINT NOT NULL, "
	    "consumers BYTEA, PRIMARY KEY (region, day, dealer, gtin)); "
	    "INSERT INTO rollups6 SELECT region, day, dealer, gtin, "
	    "scans, genuine, repeat, suspect, claims, consumers FROM "
	    "rollups; DROP TABLE rollups; ALTER TABLE rollups6 RENAME TO "
	    "rollups; CREATE TABLE rollup_regions ( dealer TEXT NOT NULL,"
	    " day BIGINT NOT NULL, region TEXT NOT NULL, scans BIGINT "
	    "NOT NULL, genuine BIGINT NOT NULL, repeat BIGINT NOT NULL, "
	    "suspect BIGINT NOT NULL, claims BIGINT NOT NULL, consumers "
	    "BYTEA, PRIMARY KEY (dealer, day, region)); CREATE TABLE "
	    "rollup_skus ( dealer TEXT NOT NULL, day BIGINT NOT NULL, "
	    "gtin TEXT NOT NULL, scans BIGINT NOT NULL, genuine BIGINT "
	    "NOT NULL, repeat BIGINT NOT NULL, suspect BIGINT NOT NULL, "
	    "claims BIGINT NOT NULL, consumers BYTEA, PRIMARY KEY ("
	    "dealer, day, gtin)); CREATE TABLE rollup_gtins ( day BIGINT "
	    "NOT NULL, gtin TEXT NOT NULL, scans BIGINT NOT NULL, "
	    "genuine BIGINT NOT NULL, repeat BIGINT NOT NULL, suspect "
	    "BIGINT NOT NULL, claims BIGINT NOT NULL, consumers BYTEA, "
	    "PRIMARY KEY (day, gtin));" },
	/* 7: rollup_regions day first: all owners' rows of a window are one
		 * range (no lookups, no history); a dealer's come by its index. */
	{
	    "CREATE TABLE rollup_regions7 ("
	    "  day INTEGER NOT NULL, dealer TEXT NOT NULL, region TEXT NOT NULL,"
	    "  scans INTEGER NOT NULL, genuine INTEGER NOT NULL,"
	    "  repeat INTEGER NOT NULL, suspect INTEGER NOT NULL,"
	    "  claims INTEGER NOT NULL, consumers BLOB,"
	    "  PRIMARY KEY (day, dealer, region)) WITHOUT ROWID;"
	    "INSERT INTO rollup_regions7 SELECT day, dealer, region, scans,"
	    "  genuine, repeat, suspect, claims, consumers FROM rollup_regions;"
	    "DROP TABLE rollup_regions;"
	    "ALTER TABLE rollup_regions7 RENAME TO rollup_regions;"
	    "CREATE INDEX rollup_regions_dealer ON rollup_regions(dealer, day);",
	    /* PostgreSQL */
	    "CREATE TABLE rollup_regions7 ( day BIGINT NOT NULL, dealer "
	    "TEXT NOT NULL, region TEXT NOT NULL, scans BIGINT NOT NULL, "
	    "genuine BIGINT NOT NULL, repeat BIGINT NOT NULL, suspect "
	    "BIGINT NOT NULL, claims BIGINT NOT NULL, consumers BYTEA, "
	    "PRIMARY KEY (day, dealer, region)); INSERT INTO "
	    "rollup_regions7 SELECT day, dealer, region, scans, genuine, "
	    "repeat, suspect, claims, consumers FROM rollup_regions; "
	    "DROP TABLE rollup_regions; ALTER TABLE rollup_regions7 "
	    "RENAME TO rollup_regions; CREATE INDEX "
	    "rollup_regions_dealer ON rollup_regions(dealer, day);" },
	/* 8: PostgreSQL: each node adds to rollup rows of its own, so nodes
	 * never update the same hot row (reports sum the nodes' rows);
	 * SQLite has one writer and nothing to do. */
	{
	    "SELECT 1;",
	    "ALTER TABLE rollups ADD COLUMN node INTEGER NOT NULL DEFAULT 0;"
	    "ALTER TABLE rollups DROP CONSTRAINT rollups6_pkey;"
	    "ALTER TABLE rollups ADD PRIMARY KEY (region, day, dealer, gtin,"
	    " node);"
	    "ALTER TABLE rollup_regions ADD COLUMN node INTEGER NOT NULL"
	    " DEFAULT 0;"
	    "ALTER TABLE rollup_regions DROP CONSTRAINT rollup_regions7_pkey;"
	    "ALTER TABLE rollup_regions ADD PRIMARY KEY (day, dealer, region,"
	    " node);"
	    "ALTER TABLE rollup_skus ADD COLUMN node INTEGER NOT NULL"
	    " DEFAULT 0;"
	    "ALTER TABLE rollup_skus DROP CONSTRAINT rollup_skus_pkey;"
	    "ALTER TABLE rollup_skus ADD PRIMARY KEY (dealer, day, gtin, node);"
	    "ALTER TABLE rollup_gtins ADD COLUMN node INTEGER NOT NULL"
	    " DEFAULT 0;"
	    "ALTER TABLE rollup_gtins DROP CONSTRAINT rollup_gtins_pkey;"
	    "ALTER TABLE rollup_gtins ADD PRIMARY KEY (day, gtin, node);"
	    "ALTER TABLE rollup_channels ADD COLUMN node INTEGER NOT NULL"
	    " DEFAULT 0;"
	    "ALTER TABLE rollup_channels DROP CONSTRAINT rollup_channels_pkey;"
	    "ALTER TABLE rollup_channels ADD PRIMARY KEY (day, channel, node);" },
	/* 9: a receipt from outside the goods' shipping chain is evidence
	 * 'unverified' (SQLite changes a CHECK only by copying the table);
	 * a dealer's shipments by serial, to tell whether it is in it. */
	{
	    "CREATE TABLE diversions9 ("
	    "  id INTEGER PRIMARY KEY,"
	    "  scan_id INTEGER,"
	    "  receipt_id INTEGER,"
	    "  at INTEGER NOT NULL,"
	    "  serial INTEGER NOT NULL,"
	    "  owner TEXT NOT NULL,"
	    "  region TEXT NOT NULL,"
	    "  evidence TEXT NOT NULL"
	    "    CHECK (evidence IN ('consumer','store','unverified')),"
	    "  uncertain INTEGER NOT NULL);"
	    "INSERT INTO diversions9 SELECT id, scan_id, receipt_id, at, serial,"
	    "  owner, region, evidence, uncertain FROM diversions;"
	    "DROP TABLE diversions;"
	    "ALTER TABLE diversions9 RENAME TO diversions;"
	    "CREATE INDEX diversions_owner_at ON diversions(owner, at);"
	    "CREATE INDEX diversions_at ON diversions(at);"
	    "CREATE INDEX shipments_dealer ON shipments(dealer, first);",
	    /* PostgreSQL */
	    "ALTER TABLE diversions DROP CONSTRAINT diversions_evidence_check;"
	    "ALTER TABLE diversions ADD CONSTRAINT diversions_evidence_check"
	    " CHECK (evidence IN ('consumer','store','unverified'));"
	    "CREATE INDEX shipments_dealer ON shipments(dealer, first);" },
	/* 10: consumers' rights (PIPL): erased ids, by a keyed hash only, are
	 * refused for ever; a consumer's rows are found by index to export
	 * or erase them; consumer ids of old scans are dropped in id order
	 * up to a watermark, as places are coarsened. */
	{
	    "CREATE TABLE erased_consumers ("
	    "  hash TEXT PRIMARY KEY,"
	    "  at INTEGER NOT NULL);"
	    "CREATE INDEX scans_consumer ON scans(consumer)"
	    "  WHERE consumer IS NOT NULL;"
	    "CREATE INDEX vouchers_consumer ON vouchers(consumer);"
	    "CREATE INDEX payouts_consumer ON payouts(consumer);"
	    "INSERT INTO upkeep VALUES ('consumers_dropped_through', 0);",
	    /* PostgreSQL */
	    "CREATE TABLE erased_consumers (hash TEXT PRIMARY KEY, at BIGINT"
	    " NOT NULL); CREATE INDEX scans_consumer ON scans(consumer)"
	    " WHERE consumer IS NOT NULL; CREATE INDEX vouchers_consumer ON"
	    " vouchers(consumer); CREATE INDEX payouts_consumer ON"
	    " payouts(consumer); INSERT INTO upkeep VALUES"
	    " ('consumers_dropped_through', 0);" },
	/* 11: SQLite's rollup rows get PostgreSQL's node column (always 0:
	 * one writer), so that both engines run the same rollup SQL. */
	{
	    "CREATE TABLE rollups11 ("
	    "  region TEXT NOT NULL, day INTEGER NOT NULL, dealer TEXT NOT NULL,"
	    "  gtin TEXT NOT NULL,"
	    "  scans INTEGER NOT NULL, genuine INTEGER NOT NULL,"
	    "  repeat INTEGER NOT NULL, suspect INTEGER NOT NULL,"
	    "  claims INTEGER NOT NULL, consumers BLOB,"
	    "  node INTEGER NOT NULL DEFAULT 0,"
	    "  PRIMARY KEY (region, day, dealer, gtin, node)) WITHOUT ROWID;"
	    "INSERT INTO rollups11 SELECT *, 0 FROM rollups;"
	    "DROP TABLE rollups;"
	    "ALTER TABLE rollups11 RENAME TO rollups;"
	    "CREATE TABLE rollup_regions11 ("
	    "  day INTEGER NOT NULL, dealer TEXT NOT NULL, region TEXT NOT NULL,"
	    "  scans INTEGER NOT NULL, genuine INTEGER NOT NULL,"
	    "  repeat INTEGER NOT NULL, suspect INTEGER NOT NULL,"
	    "  claims INTEGER NOT NULL, consumers BLOB,"
	    "  node INTEGER NOT NULL DEFAULT 0,"
	    "  PRIMARY KEY (day, dealer, region, node)) WITHOUT ROWID;"
	    "INSERT INTO rollup_regions11 SELECT *, 0 FROM rollup_regions;"
	    "DROP TABLE rollup_regions;"
	    "ALTER TABLE rollup_regions11 RENAME TO rollup_regions;"
	    "CREATE INDEX rollup_regions_dealer ON rollup_regions(dealer, day);"
	    "CREATE TABLE rollup_skus11 ("
	    "  dealer TEXT NOT NULL, day INTEGER NOT NULL, gtin TEXT NOT NULL,"
	    "  scans INTEGER NOT NULL, genuine INTEGER NOT NULL,"
	    "  repeat INTEGER NOT NULL, suspect INTEGER NOT NULL,"
	    "  claims INTEGER NOT NULL, consumers BLOB,"
	    "  node INTEGER NOT NULL DEFAULT 0,"
	    "  PRIMARY KEY (dealer, day, gtin, node)) WITHOUT ROWID;"
	    "INSERT INTO rollup_skus11 SELECT *, 0 FROM rollup_skus;"
	    "DROP TABLE rollup_skus;"
	    "ALTER TABLE rollup_skus11 RENAME TO rollup_skus;"
	    "CREATE TABLE rollup_gtins11 ("
	    "  day INTEGER NOT NULL, gtin TEXT NOT NULL,"
	    "  scans INTEGER NOT NULL, genuine INTEGER NOT NULL,"
	    "  repeat INTEGER NOT NULL, suspect INTEGER NOT NULL,"
	    "  claims INTEGER NOT NULL, consumers BLOB,"
	    "  node INTEGER NOT NULL DEFAULT 0,"
	    "  PRIMARY KEY (day, gtin, node)) WITHOUT ROWID;"
	    "INSERT INTO rollup_gtins11 SELECT *, 0 FROM rollup_gtins;"
	    "DROP TABLE rollup_gtins;"
	    "ALTER TABLE rollup_gtins11 RENAME TO rollup_gtins;"
	    "CREATE TABLE rollup_channels11 ("
	    "  day INTEGER NOT NULL, channel INTEGER NOT NULL,"
	    "  scans INTEGER NOT NULL, node INTEGER NOT NULL DEFAULT 0,"
	    "  PRIMARY KEY (day, channel, node)) WITHOUT ROWID;"
	    "INSERT INTO rollup_channels11 SELECT *, 0 FROM rollup_channels;"
	    "DROP TABLE rollup_channels;"
	    "ALTER TABLE rollup_channels11 RENAME TO rollup_channels;",
	    /* PostgreSQL: it has them since 8 */
	    "SELECT 1;" },
	/* 12: products, the master data behind a GTIN: its name and brand
	 * for reports, and the whole checked document for pages and the
	 * resolver (routes_product.c). */
	{
	    "CREATE TABLE products ("
	    "  gtin TEXT PRIMARY KEY,"
	    "  name TEXT NOT NULL,"
	    "  brand TEXT NOT NULL,"
	    "  doc TEXT NOT NULL,"
	    "  updated_at INTEGER NOT NULL);",
	    /* PostgreSQL */
	    "CREATE TABLE products (gtin TEXT PRIMARY KEY, name TEXT NOT NULL,"
	    " brand TEXT NOT NULL, doc TEXT NOT NULL, updated_at BIGINT NOT"
	    " NULL);" },
	/* 13: EPCIS 2.0 (epcis.c). What happened to goods in the supply
	 * chain, one row an event (its EPCs as serial spans; rendered and
	 * hashed when read); consumer scans are events from the scans table
	 * itself. The outbox's triggers are made when a node first pushes
	 * (store_epcis.c): until then no scan pays for them. */
	{
	    "ALTER TABLE batches ADD COLUMN dl INTEGER;"
	    "ALTER TABLE dealers ADD COLUMN gln TEXT;"
	    "CREATE TABLE epcis_events ("
	    "  id INTEGER PRIMARY KEY,"
	    "  at INTEGER NOT NULL,"
	    "  step TEXT NOT NULL,"
	    "  parent INTEGER,"
	    "  epcs TEXT NOT NULL,"
	    "  lo INTEGER NOT NULL, hi INTEGER NOT NULL,"
	    "  party TEXT, source TEXT, detail TEXT);"
	    "CREATE INDEX epcis_events_at ON epcis_events(at);"
	    "CREATE INDEX scans_at ON scans(at);"
	    "CREATE TABLE epcis_outbox ("
	    "  id INTEGER PRIMARY KEY,"
	    "  scan INTEGER, event INTEGER,"
	    "  at INTEGER NOT NULL);"
	    "CREATE TABLE epcis_captures ("
	    "  id TEXT PRIMARY KEY,"
	    "  at INTEGER NOT NULL,"
	    "  status TEXT NOT NULL,"
	    "  events INTEGER NOT NULL,"
	    "  applied INTEGER NOT NULL,"
	    "  errors TEXT);",
	    /* PostgreSQL: its triggers take a statement's rows at once */
	    "ALTER TABLE batches ADD COLUMN dl BIGINT;"
	    " ALTER TABLE dealers ADD COLUMN gln TEXT;"
	    " CREATE TABLE epcis_events (id BIGINT GENERATED BY DEFAULT AS"
	    " IDENTITY PRIMARY KEY, at BIGINT NOT NULL, step TEXT NOT NULL,"
	    " parent BIGINT, epcs TEXT NOT NULL, lo BIGINT NOT NULL, hi BIGINT"
	    " NOT NULL, party TEXT, source TEXT, detail TEXT);"
	    " CREATE INDEX epcis_events_at ON epcis_events(at);"
	    " CREATE INDEX scans_at ON scans(at);"
	    " CREATE TABLE epcis_outbox (id BIGINT GENERATED BY DEFAULT AS"
	    " IDENTITY PRIMARY KEY, scan BIGINT, event BIGINT, at BIGINT NOT"
	    " NULL);"
	    " CREATE FUNCTION yima_outbox_events() RETURNS trigger LANGUAGE"
	    " plpgsql AS $$ BEGIN INSERT INTO epcis_outbox (event, at) SELECT"
	    " id, at FROM new_rows; RETURN NULL; END $$;"
	    " CREATE FUNCTION yima_outbox_scans() RETURNS trigger LANGUAGE"
	    " plpgsql AS $$ BEGIN INSERT INTO epcis_outbox (scan, at) SELECT"
	    " id, at FROM new_rows WHERE verdict IN (1, 2, 3) AND kind IN"
	    " (1, 3, 4); RETURN NULL; END $$;"
	    " CREATE TABLE epcis_captures (id TEXT PRIMARY KEY, at BIGINT NOT"
	    " NULL, status TEXT NOT NULL, events BIGINT NOT NULL, applied"
	    " BIGINT NOT NULL, errors TEXT);" },
	/* 14: staff accounts: a name and an argon2id password hash for a
	 * token of its own (its role and dealer; its secret never shown), so
	 * disabling an account revokes the token and ends its sessions;
	 * failed logins lock it for a while. */
	{
	    "CREATE TABLE staff ("
	    "  name TEXT PRIMARY KEY,"
	    "  hash TEXT NOT NULL,"
	    "  token INTEGER NOT NULL REFERENCES tokens(id),"
	    "  failures INTEGER NOT NULL DEFAULT 0,"
	    "  locked_until INTEGER NOT NULL DEFAULT 0,"
	    "  created_at INTEGER NOT NULL,"
	    "  disabled_at INTEGER);",
	    /* PostgreSQL */
	    "CREATE TABLE staff (name TEXT PRIMARY KEY, hash TEXT NOT NULL,"
	    " token BIGINT NOT NULL REFERENCES tokens(id), failures BIGINT NOT"
	    " NULL DEFAULT 0, locked_until BIGINT NOT NULL DEFAULT 0, created_at"
	    " BIGINT NOT NULL, disabled_at BIGINT);" },
	/* 15: what the brand learns of its audience (audience.c), each kept
	 * as scans come (a scan moves one consumer), so a report reads
	 * counters: the arms of campaigns' A/B tests and who saw which,
	 * channel codes' funnels and whom each brought, and each consumer's
	 * lifecycle stage, with the counts per stage and the moves between
	 * stages per month. Counters have a row per node, as rollups do. */
	{ MIG15, MIG15 },
	/* 16: a held claim's review: released (granted, its points moved)
	 * or rejected, with the reviewer's reason and name. */
	{ MIG16, MIG16 },
};

const int api_schema_version =
    (int)(sizeof(api_migrations) / sizeof(api_migrations[0]));
