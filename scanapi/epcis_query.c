/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading events (epcis.h): supply-chain events and consumer scans,
 * merged in (at, scan, id) order, filtered for the reader, a page at a
 * time; the query route and the export read them alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "epcis.h"
#include "http.h"
#include "verdict.h"

#define LOOK_MAX	20	/* rows looked at per event shown, at most */

/* ---- reading events: one page of the merged, filtered stream ---- */

/* A row kept past its statement: its text copied. */
struct held {
	struct yima_epcis_row	 row;
	char			*text;	/* epcs, party, source, detail */
};

struct fetch {
	struct held	*rows;
	size_t		 n, cap;
	int		 rc;
};

static char *
dup4(const struct yima_epcis_row *e, const char **p)
{
	size_t a = strlen(e->epcs) + 1, b = strlen(e->party) + 1,
	    c = strlen(e->source) + 1, d = strlen(e->detail) + 1;
	char *t = yima_malloc(a + b + c + d);

	if (t == NULL)
		return NULL;
	memcpy(t, e->epcs, a);
	memcpy(t + a, e->party, b);
	memcpy(t + a + b, e->source, c);
	memcpy(t + a + b + c, e->detail, d);
	p[0] = t;
	p[1] = t + a;
	p[2] = t + a + b;
	p[3] = t + a + b + c;
	return t;
}

static void
keep(void *ctx, const struct yima_epcis_row *e)
{
	struct fetch *f = ctx;
	struct held *h, *p;
	const char *s[4];

	if (f->rc != 0)
		return;
	if (f->n == f->cap) {
		f->cap = f->cap * 2 + 64;
		if ((p = yima_realloc(f->rows, f->cap * sizeof(*p))) == NULL) {
			f->rc = YIMA_ENOMEM;
			return;
		}
		f->rows = p;
	}
	h = &f->rows[f->n];
	h->row = *e;
	if ((h->text = dup4(e, s)) == NULL) {
		f->rc = YIMA_ENOMEM;
		return;
	}
	h->row.epcs = s[0];
	h->row.party = s[1];
	h->row.source = s[2];
	h->row.detail = s[3];
	f->n++;
}

static void
fetch_free(struct fetch *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		yima_free(f->rows[i].text);
	yima_free(f->rows);
	memset(f, 0, sizeof(*f));
}

/* (at, scan, id) order: events before scans at the same ms. */
static int
row_before(const struct yima_epcis_row *a, const struct yima_epcis_row *b)
{
	if (a->at != b->at)
		return a->at < b->at;
	if (a->scan != b->scan)
		return a->scan < b->scan;
	return a->id < b->id;
}

static int
under_root(struct yima_tx *tx, const struct api_epcis_reader *rd, const char *id,
    int *yes)
{
	*yes = 0;
	return id[0] == '\0' ? 0 : yima_tx_dealer_under(tx, rd->root, id, yes);
}

/* The first serial an event names (its parent first), or 0. */
static uint64_t
first_serial(const struct yima_epcis_row *e)
{
	if (e->scan)
		return e->serial;
	if (e->parent != 0)
		return e->parent;
	return strtoull(e->epcs, NULL, 10);
}

/* Whether the row names serial (its parent, or in its spans). */
static int
names(const struct yima_epcis_row *e, uint64_t serial)
{
	unsigned long long a, b;
	const char *p = e->epcs;
	char *end;

	if (e->scan)
		return e->serial == serial;
	if (e->parent == serial)
		return 1;
	while (*p != '\0') {
		a = b = strtoull(p, &end, 10);
		if (end == p)
			return 0;
		if (*end == '-')
			b = strtoull(end + 1, &end, 10);
		if (serial >= a && serial <= b)
			return 1;
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}

/* Does the event concern goods of the reader's subtree (and place)? */
static int
visible(struct yima_tx *tx, const struct api_epcis_reader *rd,
    const struct yima_epcis_row *e, int *yes)
{
	char owner[YIMA_DEALER_ID_MAX + 1];
	uint64_t s;
	int rc;

	*yes = 1;
	if (rd->root == NULL)
		return 0;
	/* A batch's events name goods other dealers own: the brand's. */
	if (!e->scan && (strcmp(e->step, "commissioning") == 0 ||
	    strcmp(e->step, "decommissioning") == 0)) {
		*yes = 0;
		return 0;
	}
	if (!e->scan && ((rc = under_root(tx, rd, e->party, yes)) != 0 ||
	    *yes || (rc = under_root(tx, rd, e->source, yes)) != 0 || *yes))
		return rc;
	*yes = 0;
	if ((s = first_serial(e)) == 0)
		return 0;
	if ((rc = yima_tx_owner(tx, s, owner)) == YIMA_ENOENT)
		return 0;
	if (rc != 0 || (rc = under_root(tx, rd, owner, yes)) != 0 || !*yes)
		return rc;
	/* a consumer's scan only inside the dealer's territory */
	if (e->scan && rd->nterr > 0)
		*yes = e->region[0] != '\0' && api_territory_holds(e->region,
		    rd->terr, rd->nterr);
	return 0;
}

/* The event's bizStep as a URI, for comparing with a query's. */
void
api_epcis_step_uri(const char *s, char *out, size_t len)
{
	if (strchr(s, ':') != NULL)
		snprintf(out, len, "%s", s);
	else
		snprintf(out, len, "https://ref.gs1.org/cbv/BizStep-%s", s);
}

static int
wanted(const struct api_epcis_page *pg, json_t *ev)
{
	char a[128], b[128];
	const char *s = json_string_value(json_object_get(ev, "bizStep"));

	if (pg->type != NULL && strcmp(pg->type, json_string_value(
	    json_object_get(ev, "type"))) != 0)
		return 0;
	if (pg->biz_step == NULL)
		return 1;
	api_epcis_step_uri(s != NULL ? s : "", a, sizeof(a));
	api_epcis_step_uri(pg->biz_step, b, sizeof(b));
	return strcmp(a, b) == 0;
}

/*
 * Fills pg->events from pg->f's cursor on: up to pg->limit events the
 * reader may see, looking at LOOK_MAX rows per event at most; the cursor
 * ends after the last row looked at.
 */
int
api_epcis_page_fill(struct yima_tx *tx, struct api_epcis *x,
    const struct api_epcis_reader *rd, struct api_epcis_page *pg)
{
	struct fetch ev = { 0 }, sc = { 0 };
	struct yima_epcis_filter f;
	const struct yima_epcis_row *e;
	size_t i, j, looked = 0, budget = (size_t)pg->limit * LOOK_MAX;
	size_t epcs = 0;
	json_t *out;
	int rc = 0, yes, full_ev, full_sc;

	pg->more = 0;
	while (json_array_size(pg->events) < (size_t)pg->limit) {
		f = pg->f;
		f.limit = pg->limit;
		f.scans = 0;
		rc = f.events ? yima_tx_epcis_list(tx, &f, keep, &ev) : 0;
		f = pg->f;
		f.limit = pg->limit;
		f.events = 0;
		if (rc == 0 && f.scans)
			rc = yima_tx_epcis_list(tx, &f, keep, &sc);
		if (rc == 0)
			rc = ev.rc != 0 ? ev.rc : sc.rc;
		if (rc != 0)
			break;
		full_ev = ev.n == (size_t)pg->limit;
		full_sc = sc.n == (size_t)pg->limit;
		/* merge while neither side that may have more runs dry */
		for (i = j = 0; i < ev.n || j < sc.n;) {
			if ((i == ev.n && full_ev) || (j == sc.n && full_sc))
				break;
			e = j == sc.n || (i < ev.n && row_before(&ev.rows[i].row,
			    &sc.rows[j].row)) ? &ev.rows[i++].row :
			    &sc.rows[j++].row;
			pg->f.after = 1;
			pg->f.after_at = e->at;
			pg->f.after_scan = e->scan;
			pg->f.after_id = e->id;
			looked++;
			if (pg->f.has_serial && !names(e, pg->f.serial))
				goto next;
			if ((rc = visible(tx, rd, e, &yes)) != 0)
				break;
			if (!yes)
				goto next;
			/* (a key gone from the keyring: its codes have no
			 * name; the rest goes on) */
			if ((rc = api_epcis_event(x, e, &out)) == YIMA_ENOKEY ||
			    rc == YIMA_ENOENT || rc == YIMA_EINVAL) {
				pg->skipped++;
				rc = 0;
				goto next;
			}
			if (rc != 0)
				break;
			if (wanted(pg, out)) {
				epcs += json_array_size(json_object_get(out,
				    "epcList")) + json_array_size(
				    json_object_get(out, "childEPCs"));
				json_array_append_new(pg->events, out);
			} else
				json_decref(out);
next:
			/* bounded: events, rows looked at, and EPCs named */
			if (json_array_size(pg->events) == (size_t)pg->limit ||
			    looked >= budget || epcs >= API_EPCIS_PAGE_EPCS) {
				pg->more = 1;
				break;
			}
		}
		if (rc != 0 || pg->more || (!full_ev && !full_sc))
			break;
		fetch_free(&ev);
		fetch_free(&sc);
	}
	fetch_free(&ev);
	fetch_free(&sc);
	return rc;
}


/* The document's head: all but its events, which end it with "]}}". */
static char *
doc_head(int64_t now)
{
	json_t *doc = api_epcis_document(json_array(), NULL, now);
	char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	size_t n = text != NULL ? strlen(text) : 0;

	json_decref(doc);
	/* ..."eventList":[]}} less its "]}}" */
	if (n < 4 || strcmp(text + n - 4, "[]}}") != 0) {
		free(text);
		return NULL;
	}
	text[n - 3] = '\0';
	return text;
}

int
api_epcis_export(struct yima_store *st, const struct yima_keyring *kr,
    int64_t from, int64_t to, FILE *out, uint64_t *n, uint64_t *skipped)
{
	struct api_epcis_reader rd = { NULL, NULL, 0 };
	struct api_epcis_page pg;
	struct api_epcis x;
	struct yima_tx *tx = NULL;
	char *head, *line;
	size_t i;
	int rc;

	*n = 0;
	if ((head = doc_head(api_now_ms())) == NULL)
		return YIMA_ENOMEM;
	fputs(head, out);
	free(head);
	memset(&pg, 0, sizeof(pg));
	pg.f.from = from;
	pg.f.to = to;
	pg.f.events = pg.f.scans = 1;
	pg.limit = 1000;
	/* A page a transaction: a long export holds no snapshot for long. */
	do {
		if ((rc = yima_tx_begin(st, 0, &tx)) != 0)
			break;
		if ((pg.events = json_array()) == NULL) {
			rc = YIMA_ENOMEM;
			break;
		}
		rc = api_epcis_begin(&x, kr, tx);
		if (rc == YIMA_ENOENT) {
			rc = 0;
			pg.more = 0;
		} else if (rc == 0)
			rc = api_epcis_page_fill(tx, &x, &rd, &pg);
		yima_tx_rollback(tx);
		tx = NULL;
		for (i = 0; rc == 0 && i < json_array_size(pg.events); i++) {
			if ((line = json_dumps(json_array_get(pg.events, i),
			    JSON_COMPACT)) == NULL) {
				rc = YIMA_ENOMEM;
				break;
			}
			fprintf(out, "%s%s", *n > 0 ? "," : "", line);
			free(line);
			(*n)++;
		}
		json_decref(pg.events);
		pg.events = NULL;
	} while (rc == 0 && pg.more);
	*skipped = pg.skipped;
	yima_tx_rollback(tx);
	if (rc == 0)
		fputs("]}}\n", out);
	return rc == 0 && ferror(out) ? YIMA_EIO : rc;
}
