/*
 * approvalctl audit export|verify: read the audit hash chain of a state
 * database, read-only (safe next to a running approvald).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "audit_chain.h"
#include "config.h"
#include "ctl.h"

static sqlite3 *
audit_open(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, "approvalctl: %s: %s\n", path,
		    db ? sqlite3_errmsg(db) : "cannot open");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static const char *
audit_col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? (const char *)t : "";
}

static void
audit_iso(int64_t at, char *buf, size_t len)
{
	time_t t = (time_t)at;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
audit_export(const char *state, int64_t since, int jsonl)
{
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	struct json_object *o, *detail;
	char iso[32];
	int rc;

	if ((db = audit_open(state)) == NULL)
		return CTL_EXIT_FAIL;
	if (sqlite3_prepare_v2(db,
	        "SELECT seq, at, key, kind, detail, prev_hash, hash FROM audit"
	        " WHERE at >= ?1 ORDER BY seq",
	        -1, &st, NULL) != SQLITE_OK) {
		fprintf(
		    stderr, "approvalctl: %s: %s\n", state, sqlite3_errmsg(db));
		sqlite3_close(db);
		return CTL_EXIT_FAIL;
	}
	sqlite3_bind_int64(st, 1, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		audit_iso(sqlite3_column_int64(st, 1), iso, sizeof(iso));
		if (!jsonl) {
			printf("%" PRId64 " %s %s %s %s\n",
			    (int64_t)sqlite3_column_int64(st, 0), iso,
			    audit_col(st, 2), audit_col(st, 3),
			    audit_col(st, 4));
			continue;
		}
		o = json_object_new_object();
		json_object_object_add(o, "seq",
		    json_object_new_int64(sqlite3_column_int64(st, 0)));
		json_object_object_add(o, "time", json_object_new_string(iso));
		json_object_object_add(o, "at",
		    json_object_new_int64(sqlite3_column_int64(st, 1)));
		json_object_object_add(
		    o, "key", json_object_new_string(audit_col(st, 2)));
		json_object_object_add(
		    o, "kind", json_object_new_string(audit_col(st, 3)));
		detail = json_tokener_parse(audit_col(st, 4));
		json_object_object_add(o, "detail",
		    detail != NULL ? detail
		                   : json_object_new_string(audit_col(st, 4)));
		json_object_object_add(
		    o, "prev_hash", json_object_new_string(audit_col(st, 5)));
		json_object_object_add(
		    o, "hash", json_object_new_string(audit_col(st, 6)));
		printf("%s\n", json_object_to_json_string_ext(
		                   o, JSON_C_TO_STRING_PLAIN |
		                          JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		fprintf(
		    stderr, "approvalctl: %s: %s\n", state, sqlite3_errmsg(db));
		sqlite3_close(db);
		return CTL_EXIT_FAIL;
	}
	sqlite3_close(db);
	return CTL_EXIT_OK;
}

/*
 * Where the chain starts: genesis, or the prune anchor (approvald's
 * retention deleted the entries up to anchor->seq, a prefix, and recorded
 * the seq and hash of the last one in the same transaction). A database
 * from before retention has no prune_anchor table. 0, or -1 when the
 * anchor cannot be read.
 */
struct audit_anchor {
	int64_t seq, at;
	char hash[AUDIT_HASH_HEX];
};

static int
audit_anchor_get(sqlite3 *db, struct audit_anchor *a)
{
	sqlite3_stmt *st = NULL;
	const char *h;
	int rc;

	memset(a, 0, sizeof(*a));
	memcpy(a->hash, audit_genesis, sizeof(a->hash));
	rc = sqlite3_prepare_v2(db,
	    "SELECT audit_seq, audit_hash, audit_at FROM prune_anchor"
	    " WHERE id = 1",
	    -1, &st, NULL);
	if (rc != SQLITE_OK) {
		/* no table: never pruned */
		sqlite3_finalize(st);
		return strstr(sqlite3_errmsg(db), "no such table") != NULL ? 0
		                                                           : -1;
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW &&
	    sqlite3_column_int64(st, 0) > 0) {
		h = audit_col(st, 1);
		if (strlen(h) != AUDIT_HASH_HEX - 1) {
			sqlite3_finalize(st);
			return -1;
		}
		a->seq = sqlite3_column_int64(st, 0);
		a->at = sqlite3_column_int64(st, 2);
		memcpy(a->hash, h, sizeof(a->hash));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Walk the chain from seq 1, or from the prune anchor: every entry must
 * follow the previous one by seq, carry its hash as prev_hash and hash to
 * its own stored hash. */
static int
audit_verify(const char *state)
{
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	char prev[AUDIT_HASH_HEX], hash[AUDIT_HASH_HEX], iso[32];
	struct audit_anchor anchor;
	int64_t want, seq, n = 0;
	int rc, bad = 0;

	if ((db = audit_open(state)) == NULL)
		return CTL_EXIT_FAIL;
	if (audit_anchor_get(db, &anchor) == -1 ||
	    sqlite3_prepare_v2(db,
	        "SELECT seq, at, key, kind, detail, prev_hash, hash FROM audit"
	        " WHERE seq > ?1 ORDER BY seq",
	        -1, &st, NULL) != SQLITE_OK) {
		fprintf(
		    stderr, "approvalctl: %s: %s\n", state, sqlite3_errmsg(db));
		sqlite3_close(db);
		return CTL_EXIT_FAIL;
	}
	sqlite3_bind_int64(st, 1, anchor.seq);
	want = anchor.seq + 1;
	memcpy(prev, anchor.hash, sizeof(prev));
	while (!bad && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		seq = sqlite3_column_int64(st, 0);
		if (seq != want) {
			printf("audit: broken at seq %" PRId64
			       ": entry %" PRId64 " is missing (found %" PRId64
			       ")\n",
			    want, want, seq);
			bad = 1;
			break;
		}
		if (strcmp(audit_col(st, 5), prev) != 0) {
			printf("audit: broken at seq %" PRId64
			       ": prev_hash does not match entry %" PRId64
			       " (deleted or reordered)\n",
			    seq, seq - 1);
			bad = 1;
			break;
		}
		if (audit_chain_hash(prev, seq, sqlite3_column_int64(st, 1),
		        audit_col(st, 2), audit_col(st, 3), audit_col(st, 4),
		        hash) == -1) {
			fprintf(stderr, "approvalctl: hashing failed\n");
			bad = 1;
			break;
		}
		if (strcmp(hash, audit_col(st, 6)) != 0) {
			printf("audit: broken at seq %" PRId64
			       ": entry was edited (hash mismatch)\n",
			    seq);
			bad = 1;
			break;
		}
		memcpy(prev, hash, sizeof(prev));
		want++;
		n++;
	}
	if (!bad && rc != SQLITE_DONE) {
		fprintf(
		    stderr, "approvalctl: %s: %s\n", state, sqlite3_errmsg(db));
		bad = 1;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (bad)
		return CTL_EXIT_FAIL;
	if (anchor.seq > 0) {
		audit_iso(anchor.at, iso, sizeof(iso));
		printf("audit: %" PRId64 " entries verified from anchor seq "
		       "%" PRId64 " (pruned up to %s); head %s\n",
		    n, anchor.seq, iso, prev);
	} else
		printf(
		    "audit: %" PRId64 " entries verified; head %s\n", n, prev);
	return CTL_EXIT_OK;
}

/* approvalctl audit export|verify --state DB ... */
int
ctl_audit(int argc, char **argv)
{
	const char *state = NULL, *sub;
	int64_t since = 0;
	int i, jsonl = 1;

	if (argc < 2) {
		return CTL_EXIT_USAGE;
	}
	sub = argv[1];
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
			state = argv[++i];
		else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc) {
			if ((since = cfg_parse_timestamp(argv[++i])) < 0) {
				fprintf(stderr,
				    "approvalctl: --since %s: want an ISO-8601 "
				    "time\n",
				    argv[i]);
				return CTL_EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
			i++;
			if (strcmp(argv[i], "jsonl") == 0)
				jsonl = 1;
			else if (strcmp(argv[i], "text") == 0)
				jsonl = 0;
			else {
				return CTL_EXIT_USAGE;
			}
		} else {
			return CTL_EXIT_USAGE;
		}
	}
	if (state == NULL) {
		return CTL_EXIT_USAGE;
	}
	if (strcmp(sub, "export") == 0)
		return audit_export(state, since, jsonl);
	if (strcmp(sub, "verify") == 0)
		return audit_verify(state);
	return CTL_EXIT_USAGE;
}
