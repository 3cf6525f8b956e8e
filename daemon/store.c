/* SQLite store: WAL, synchronous=FULL, versioned schema, prepared statements. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <sqlite3.h>

#include "limits.h"
#include "store.h"

#define STORE_SM_MAGIC 0x534d3031u /* "SM01": layout of struct sm_request */

enum store_stmt {
	ST_REQ_GET = 0,
	ST_REQ_PUT,
	ST_JOURNAL_ADD,
	ST_JOURNAL_EACH,
	ST_INTENT_ADD,
	ST_INTENT_CLOSE,
	ST_INTENT_ATTEMPT,
	ST_INTENT_OPEN,
	ST_INTENT_OPEN_FOR,
	ST_TIMER_SET,
	ST_TIMER_CLEAR,
	ST_TIMER_EACH,
	ST_TIMER_DELETE,
	ST_META_GET,
	ST_META_SET,
	ST_CHANGE_MARK,
	ST_CHANGE_PRUNE,
	ST_CHANGE_SEEN,
	ST_REQ_EACH,
	ST_REQ_EACH_STATE,
	ST_REQ_COUNT_BY_STATE,
	ST_MAX
};

static const char *const store_sql[ST_MAX] = {
	[ST_REQ_GET] = "SELECT key, source, gid, approval_id, sm, graph_status,"
	               " body, digest, rule, verdict, reason, created, updated,"
	               " fingerprint, identity FROM requests WHERE key = ?1",
	[ST_REQ_PUT] = "INSERT INTO requests (key, source, gid, approval_id,"
	               " state, sm, graph_status, body, digest, rule, verdict,"
	               " reason, created, updated, fingerprint, identity)"
	               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
	               " ?12, ?13, ?14, ?15, ?16) ON CONFLICT(key) DO UPDATE"
	               " SET approval_id = ?4, state = ?5, sm = ?6,"
	               " graph_status = ?7, body = ?8, digest = ?9, rule = ?10,"
	               " verdict = ?11, reason = ?12, updated = ?14,"
	               " fingerprint = ?15, identity = ?16",
	[ST_JOURNAL_ADD] = "INSERT INTO journal (key, at, from_state,"
	                   " to_state, event, rule, detail)"
	                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_JOURNAL_EACH] = "SELECT seq, at, from_state, to_state, event, rule,"
	                    " detail FROM journal WHERE key = ?1 ORDER BY seq",
	[ST_INTENT_ADD] = "INSERT INTO intents (key, kind, justification,"
	                  " created) VALUES (?1, ?2, ?3, ?4)",
	[ST_INTENT_CLOSE] = "UPDATE intents SET outcome = ?2, closed = ?3"
	                    " WHERE id = ?1",
	[ST_INTENT_ATTEMPT] = "UPDATE intents SET attempts = attempts + 1"
	                      " WHERE id = ?1",
	[ST_INTENT_OPEN] = "SELECT id, key, kind, justification, attempts,"
	                   " created FROM intents WHERE outcome IS NULL"
	                   " ORDER BY id",
	[ST_INTENT_OPEN_FOR] = "SELECT id, key, kind, justification, attempts,"
	                       " created FROM intents WHERE outcome IS NULL"
	                       " AND key = ?1 ORDER BY id LIMIT 1",
	[ST_TIMER_SET] = "INSERT INTO timers (key, kind, stage, at)"
	                 " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(key, kind)"
	                 " DO UPDATE SET stage = ?3, at = ?4",
	[ST_TIMER_CLEAR] = "DELETE FROM timers WHERE key = ?1",
	[ST_TIMER_EACH] = "SELECT key, kind, stage, at FROM timers ORDER BY at",
	[ST_TIMER_DELETE] = "DELETE FROM timers WHERE key = ?1 AND kind = ?2",
	[ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[ST_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
	                " ON CONFLICT(key) DO UPDATE SET value = ?2",
	[ST_CHANGE_MARK] = "INSERT OR IGNORE INTO changes (id, seen)"
	                   " VALUES (?1, ?2)",
	[ST_CHANGE_PRUNE] = "DELETE FROM changes WHERE seen < ?1",
	[ST_CHANGE_SEEN] = "SELECT 1 FROM changes WHERE id = ?1",
	[ST_REQ_EACH] = "SELECT key, source, gid, approval_id, sm,"
	                " graph_status, body, digest, rule, verdict, reason,"
	                " created, updated, fingerprint, identity FROM requests"
	                " ORDER BY created, key",
	[ST_REQ_EACH_STATE] = "SELECT key, source, gid, approval_id, sm,"
	                      " graph_status, body, digest, rule, verdict,"
	                      " reason, created, updated, fingerprint, identity"
	                      " FROM requests WHERE state = ?1"
	                      " ORDER BY created, key",
	[ST_REQ_COUNT_BY_STATE] = "SELECT state, count(*) FROM requests"
	                          " GROUP BY state",
};

/* Schema migrations, applied in order; user_version counts them. */
static const char *const store_migrations[] = {
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE requests (key TEXT PRIMARY KEY, source INTEGER NOT NULL,"
	" gid TEXT NOT NULL, approval_id TEXT, state TEXT NOT NULL,"
	" sm BLOB NOT NULL, graph_status TEXT, body TEXT, digest TEXT,"
	" rule TEXT, verdict TEXT, reason TEXT, created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL);"
	"CREATE INDEX requests_state ON requests (state);"
	"CREATE TABLE journal (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" key TEXT NOT NULL, at INTEGER NOT NULL, from_state TEXT NOT NULL,"
	" to_state TEXT NOT NULL, event TEXT NOT NULL, rule TEXT,"
	" detail TEXT);"
	"CREATE INDEX journal_key ON journal (key, seq);"
	"CREATE TRIGGER journal_append_only_u BEFORE UPDATE ON journal"
	" BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;"
	"CREATE TRIGGER journal_append_only_d BEFORE DELETE ON journal"
	" BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;"
	"CREATE TABLE intents (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" key TEXT NOT NULL, kind TEXT NOT NULL, justification TEXT,"
	" attempts INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL,"
	" outcome TEXT, closed INTEGER);"
	"CREATE INDEX intents_open ON intents (outcome, id);"
	"CREATE TABLE timers (key TEXT NOT NULL, kind INTEGER NOT NULL,"
	" stage INTEGER NOT NULL, at INTEGER NOT NULL,"
	" PRIMARY KEY (key, kind));"
	"CREATE TABLE changes (id TEXT PRIMARY KEY, seen INTEGER NOT NULL);",
	/* eligible approvers per (request, stage) (daemon/approvers.c) */
	"CREATE TABLE stage_approvers (key TEXT NOT NULL,"
	" stage INTEGER NOT NULL, id TEXT NOT NULL, upn TEXT,"
	" escalation INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (key, stage, id));",
	/* audit trail, a hash chain (daemon/audit.c, ctl/audit.c) */
	"CREATE TABLE audit (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
	" key TEXT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL,"
	" prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
	"CREATE TRIGGER audit_append_only_u BEFORE UPDATE ON audit"
	" BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
	"CREATE TRIGGER audit_append_only_d BEFORE DELETE ON audit"
	" BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;",
	/* 4: find a request's open intent without scanning every open one;
	 * prune seen change ids without scanning them all every poll */
	"CREATE INDEX intents_open_key ON intents (key) WHERE outcome IS NULL;"
	"CREATE INDEX changes_seen ON changes (seen);",
	/* 5: notification outbox, one row per (event, target), written with
	 * the transition that causes it (daemon/notify.c); nonces of used
	 * decision links (daemon/links.c) */
	"CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" target TEXT NOT NULL, key TEXT NOT NULL, event TEXT NOT NULL,"
	" stage INTEGER NOT NULL, started INTEGER NOT NULL,"
	" created INTEGER NOT NULL, ready INTEGER NOT NULL,"
	" next_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
	" done INTEGER, outcome TEXT);"
	"CREATE INDEX outbox_due ON outbox (target, ready, next_at)"
	" WHERE done IS NULL;"
	"CREATE INDEX outbox_key ON outbox (key, stage);"
	"CREATE INDEX outbox_done ON outbox (done) WHERE done IS NOT NULL;"
	"CREATE TABLE link_uses (nonce TEXT PRIMARY KEY, key TEXT NOT NULL,"
	" used INTEGER NOT NULL, expires INTEGER NOT NULL);"
	"CREATE INDEX link_uses_expires ON link_uses (expires);",
	/* 6: what the policy decided, to notice when a reload changes it
	 * (daemon/reload.c) */
	"ALTER TABLE requests ADD COLUMN fingerprint TEXT;",
	/* 7: the requestor's identity as resolved against the directory
	 * before the request was evaluated (daemon/ident.c), so that every
	 * later re-parse of the body decides on the same identity */
	"ALTER TABLE requests ADD COLUMN identity TEXT;",
};

#define STORE_SM_MAGIC_RLE 0x534d5231u /* "SMR1": zero-run encoded */
#define STORE_SM_MAXENC    (sizeof(uint32_t) + 2 * sizeof(struct sm_request) + 16)

/*
 * The state-machine record is mostly zero (empty approver slots): store it
 * as runs of [u16 literal length, literal bytes, u16 zero-run length].
 */
static size_t
store_sm_encode(const struct sm_request *sm, unsigned char *out)
{
	const unsigned char *p = (const unsigned char *)sm;
	size_t n = sizeof(*sm), i = 0, o = 0, lit, zero;
	uint32_t magic = STORE_SM_MAGIC_RLE;
	uint16_t v;

	memcpy(out, &magic, sizeof(magic));
	o = sizeof(magic);
	while (i < n) {
		for (lit = 0; i + lit < n && lit < UINT16_MAX &&
		              (p[i + lit] != 0 ||
		                  (i + lit + 1 < n && p[i + lit + 1] != 0));
		     lit++)
			;
		v = (uint16_t)lit;
		memcpy(out + o, &v, sizeof(v));
		o += sizeof(v);
		memcpy(out + o, p + i, lit);
		o += lit;
		i += lit;
		for (zero = 0;
		     i + zero < n && zero < UINT16_MAX && p[i + zero] == 0;
		     zero++)
			;
		v = (uint16_t)zero;
		memcpy(out + o, &v, sizeof(v));
		o += sizeof(v);
		i += zero;
	}
	return o;
}

static int
store_sm_decode(const unsigned char *in, size_t len, struct sm_request *sm)
{
	unsigned char *p = (unsigned char *)sm;
	size_t n = sizeof(*sm), i = 0, o = 0;
	uint16_t lit, zero;

	while (i < len) {
		if (i + 2 > len)
			return -1;
		memcpy(&lit, in + i, 2);
		i += 2;
		if (i + lit > len || o + lit > n)
			return -1;
		memcpy(p + o, in + i, lit);
		i += lit;
		o += lit;
		if (i + 2 > len)
			return -1;
		memcpy(&zero, in + i, 2);
		i += 2;
		if (o + zero > n)
			return -1;
		memset(p + o, 0, zero);
		o += zero;
	}
	return o == n ? 0 : -1;
}

/* Decode a requests.sm column (either layout) for offline readers such as
 * approvalctl replay. 0, or -1 when the blob is not one of ours. */
int
store_sm_unpack(const void *blob, size_t n, struct sm_request *sm)
{
	uint32_t magic;

	if (blob == NULL || n < sizeof(magic))
		return -1;
	memcpy(&magic, blob, sizeof(magic));
	if (magic == STORE_SM_MAGIC && n == sizeof(magic) + sizeof(*sm)) {
		memcpy(sm, (const char *)blob + sizeof(magic), sizeof(*sm));
		return 0;
	}
	if (magic != STORE_SM_MAGIC_RLE)
		return -1;
	return store_sm_decode(
	    (const unsigned char *)blob + sizeof(magic), n - sizeof(magic), sm);
}

#define STORE_CACHED_MAX 32

struct store {
	sqlite3 *db;
	sqlite3_stmt *st[ST_MAX];
	/* statements of other concerns (audit ...), keyed by their text */
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cached[STORE_CACHED_MAX];
	size_t ncached;
	int lockfd;
	int in_batch;
};

static char *
store_strdup_col(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t != NULL ? strdup((const char *)t) : NULL;
}

static int
store_exec(struct store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* Apply every migration newer than the database's user_version. */
static int
store_migrate(struct store *s, char **err)
{
	sqlite3_stmt *st = NULL;
	int version = 0;
	size_t i, n = sizeof(store_migrations) / sizeof(store_migrations[0]);
	char sql[64];

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) !=
	    SQLITE_OK)
		goto fail;
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (version > (int)n) {
		asprintf(err,
		    "state database schema version %d is newer than "
		    "this approvald (%zu)",
		    version, n);
		return -1;
	}
	for (i = (size_t)version; i < n; i++) {
		if (store_exec(s, "BEGIN IMMEDIATE") == -1)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %zu", i + 1);
		if (store_exec(s, store_migrations[i]) == -1 ||
		    store_exec(s, sql) == -1) {
			asprintf(err, "migration %zu: %s", i + 1,
			    sqlite3_errmsg(s->db));
			store_exec(s, "ROLLBACK");
			return -1;
		}
		if (store_exec(s, "COMMIT") == -1)
			goto fail;
	}
	return 0;
fail:
	sqlite3_finalize(st);
	asprintf(err, "migrate: %s", sqlite3_errmsg(s->db));
	return -1;
}

int
store_open(const char *path, struct store **out, char **err)
{
	struct store *s;
	char *lockpath = NULL;
	size_t i;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		asprintf(err, "out of memory");
		return -1;
	}
	s->lockfd = -1;
	/* One daemon per state file: an exclusive lock held for our life. */
	if (asprintf(&lockpath, "%s.lock", path) == -1) {
		lockpath = NULL;
		goto oom;
	}
	s->lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lockfd == -1) {
		asprintf(err, "%s: %s", lockpath, strerror(errno));
		goto fail;
	}
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) == -1) {
		asprintf(err, "%s is in use by another approvald (%s)", path,
		    strerror(errno));
		goto fail;
	}
	if (sqlite3_open_v2(path, &s->db,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	            SQLITE_OPEN_NOMUTEX,
	        NULL) != SQLITE_OK) {
		asprintf(err, "%s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	if (store_exec(s, "PRAGMA journal_mode = WAL") == -1 ||
	    store_exec(s, "PRAGMA synchronous = FULL") == -1 ||
	    store_exec(s, "PRAGMA foreign_keys = ON") == -1 ||
	    store_exec(s, STORE_PRAGMA_CACHE) == -1 ||
	    store_exec(s, STORE_PRAGMA_CHECKPOINT) == -1) {
		asprintf(err, "%s: %s", path, sqlite3_errmsg(s->db));
		goto fail;
	}
	if (store_migrate(s, err) == -1)
		goto fail;
	for (i = 0; i < ST_MAX; i++)
		if (sqlite3_prepare_v3(s->db, store_sql[i], -1,
		        SQLITE_PREPARE_PERSISTENT, &s->st[i],
		        NULL) != SQLITE_OK) {
			asprintf(
			    err, "prepare %zu: %s", i, sqlite3_errmsg(s->db));
			goto fail;
		}
	free(lockpath);
	*out = s;
	return 0;
oom:
	asprintf(err, "out of memory");
fail:
	free(lockpath);
	store_close(s);
	return -1;
}

void
store_close(struct store *s)
{
	size_t i;

	if (s == NULL)
		return;
	if (s->in_batch)
		store_rollback(s);
	for (i = 0; i < ST_MAX; i++)
		sqlite3_finalize(s->st[i]);
	for (i = 0; i < s->ncached; i++)
		sqlite3_finalize(s->cached[i].st);
	if (s->db != NULL)
		sqlite3_close(s->db);
	if (s->lockfd != -1)
		close(s->lockfd);
	free(s);
}

/* The SQLite handle, for concerns with their own tables (audit, metrics);
 * owned by the store. */
struct sqlite3 *
store_db(struct store *s)
{
	return s->db;
}

/*
 * A prepared statement for `sql` (a string constant: the cache keys on its
 * address), reset and unbound; owned by the store, never finalized by the
 * caller. NULL when it cannot be prepared.
 */
struct sqlite3_stmt *
store_cached(struct store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	size_t i;

	for (i = 0; i < s->ncached; i++)
		if (s->cached[i].sql == sql) {
			st = s->cached[i].st;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	if (s->ncached == STORE_CACHED_MAX ||
	    sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
	        NULL) != SQLITE_OK)
		return NULL;
	s->cached[s->ncached].sql = sql;
	s->cached[s->ncached].st = st;
	s->ncached++;
	return st;
}

const char *
store_errmsg(struct store *s)
{
	return s->db != NULL ? sqlite3_errmsg(s->db) : "no database";
}

int
store_begin(struct store *s)
{
	if (s->in_batch)
		return 0;
	if (store_exec(s, "BEGIN IMMEDIATE") == -1)
		return -1;
	s->in_batch = 1;
	return 0;
}

int
store_commit(struct store *s)
{
	if (!s->in_batch)
		return 0;
	if (store_exec(s, "COMMIT") == -1)
		return -1;
	s->in_batch = 0;
	return 0;
}

void
store_rollback(struct store *s)
{
	if (!s->in_batch)
		return;
	store_exec(s, "ROLLBACK");
	s->in_batch = 0;
}

int
store_in_batch(struct store *s)
{
	return s->in_batch;
}

/* Reset a cached statement for its next use. */
static sqlite3_stmt *
store_stmt(struct store *s, enum store_stmt which)
{
	sqlite3_stmt *st = s->st[which];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

static int
store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

/* Step a statement that returns no rows. */
static int
store_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
store_row_to_request(sqlite3_stmt *st, struct store_request *r)
{
	const void *blob;
	int n;
	uint32_t magic;
	const char *d;

	memset(r, 0, sizeof(*r));
	r->key = store_strdup_col(st, 0);
	r->source = sqlite3_column_int(st, 1);
	r->gid = store_strdup_col(st, 2);
	r->approval_id = store_strdup_col(st, 3);
	blob = sqlite3_column_blob(st, 4);
	n = sqlite3_column_bytes(st, 4);
	if (blob == NULL || n < (int)sizeof(magic))
		return -1;
	memcpy(&magic, blob, sizeof(magic));
	if (magic == STORE_SM_MAGIC &&
	    n == (int)(sizeof(magic) + sizeof(r->sm)))
		memcpy(
		    &r->sm, (const char *)blob + sizeof(magic), sizeof(r->sm));
	else if (magic != STORE_SM_MAGIC_RLE ||
	         store_sm_decode((const unsigned char *)blob + sizeof(magic),
	             (size_t)n - sizeof(magic), &r->sm) == -1)
		return -1;
	r->graph_status = store_strdup_col(st, 5);
	r->body = store_strdup_col(st, 6);
	if ((d = (const char *)sqlite3_column_text(st, 7)) != NULL)
		snprintf(r->digest, sizeof(r->digest), "%s", d);
	r->rule = store_strdup_col(st, 8);
	r->verdict = store_strdup_col(st, 9);
	r->reason = store_strdup_col(st, 10);
	r->created = sqlite3_column_int64(st, 11);
	r->updated = sqlite3_column_int64(st, 12);
	if ((d = (const char *)sqlite3_column_text(st, 13)) != NULL)
		snprintf(r->fingerprint, sizeof(r->fingerprint), "%s", d);
	r->identity = store_strdup_col(st, 14);
	return 0;
}

int
store_request_get(struct store *s, const char *key, struct store_request *out)
{
	sqlite3_stmt *st = store_stmt(s, ST_REQ_GET);
	int rc;

	store_bind_text(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 1;
	}
	if (rc != SQLITE_ROW || store_row_to_request(st, out) == -1) {
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	return 0;
}

int
store_request_put(struct store *s, const struct store_request *r)
{
	sqlite3_stmt *st = store_stmt(s, ST_REQ_PUT);
	unsigned char blob[STORE_SM_MAXENC];
	size_t bloblen = store_sm_encode(&r->sm, blob);

	store_bind_text(st, 1, r->key);
	sqlite3_bind_int(st, 2, r->source);
	store_bind_text(st, 3, r->gid);
	store_bind_text(st, 4, r->approval_id);
	store_bind_text(st, 5, sm_state_name(r->sm.state));
	sqlite3_bind_blob(st, 6, blob, (int)bloblen, SQLITE_TRANSIENT);
	store_bind_text(st, 7, r->graph_status);
	store_bind_text(st, 8, r->body);
	store_bind_text(st, 9, r->digest[0] ? r->digest : NULL);
	store_bind_text(st, 10, r->rule);
	store_bind_text(st, 11, r->verdict);
	store_bind_text(st, 12, r->reason);
	sqlite3_bind_int64(st, 13, r->created);
	sqlite3_bind_int64(st, 14, r->updated);
	store_bind_text(st, 15, r->fingerprint[0] ? r->fingerprint : NULL);
	store_bind_text(st, 16, r->identity);
	return store_done(st);
}

void
store_request_clear(struct store_request *r)
{
	if (r == NULL)
		return;
	free(r->key);
	free(r->gid);
	free(r->approval_id);
	free(r->graph_status);
	free(r->body);
	free(r->rule);
	free(r->verdict);
	free(r->reason);
	free(r->identity);
	memset(r, 0, sizeof(*r));
}

int
store_request_each(struct store *s, const char *state,
    int (*cb)(void *, const struct store_request *), void *arg)
{
	sqlite3_stmt *st;
	struct store_request r;
	int rc, stop = 0;

	st = store_stmt(s, state ? ST_REQ_EACH_STATE : ST_REQ_EACH);
	if (state)
		store_bind_text(st, 1, state);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (store_row_to_request(st, &r) == -1) {
			store_request_clear(&r);
			sqlite3_reset(st);
			return -1;
		}
		stop = cb(arg, &r);
		store_request_clear(&r);
	}
	sqlite3_reset(st);
	return stop || rc == SQLITE_DONE ? 0 : -1;
}

int
store_request_count_by_state(
    struct store *s, int (*cb)(void *, const char *, int64_t), void *arg)
{
	sqlite3_stmt *st = store_stmt(s, ST_REQ_COUNT_BY_STATE);
	int rc, stop = 0;

	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW)
		stop = cb(arg, (const char *)sqlite3_column_text(st, 0),
		    sqlite3_column_int64(st, 1));
	sqlite3_reset(st);
	return stop || rc == SQLITE_DONE ? 0 : -1;
}

int
store_journal_add(struct store *s, const char *key, int64_t at,
    const char *from, const char *to, const char *event, const char *rule,
    const char *detail)
{
	sqlite3_stmt *st = store_stmt(s, ST_JOURNAL_ADD);

	store_bind_text(st, 1, key);
	sqlite3_bind_int64(st, 2, at);
	store_bind_text(st, 3, from);
	store_bind_text(st, 4, to);
	store_bind_text(st, 5, event);
	store_bind_text(st, 6, rule);
	store_bind_text(st, 7, detail);
	return store_done(st);
}

int
store_journal_each(struct store *s, const char *key,
    int (*cb)(void *, const struct store_journal *), void *arg)
{
	sqlite3_stmt *st = store_stmt(s, ST_JOURNAL_EACH);
	struct store_journal j;
	int rc, stop = 0;

	store_bind_text(st, 1, key);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		j.seq = sqlite3_column_int64(st, 0);
		j.at = sqlite3_column_int64(st, 1);
		j.from = (char *)sqlite3_column_text(st, 2);
		j.to = (char *)sqlite3_column_text(st, 3);
		j.event = (char *)sqlite3_column_text(st, 4);
		j.rule = (char *)sqlite3_column_text(st, 5);
		j.detail = (char *)sqlite3_column_text(st, 6);
		stop = cb(arg, &j);
	}
	sqlite3_reset(st);
	return stop || rc == SQLITE_DONE ? 0 : -1;
}

int
store_intent_add(struct store *s, const char *key, const char *kind,
    const char *justification, int64_t now, int64_t *id)
{
	sqlite3_stmt *st = store_stmt(s, ST_INTENT_ADD);

	store_bind_text(st, 1, key);
	store_bind_text(st, 2, kind);
	store_bind_text(st, 3, justification);
	sqlite3_bind_int64(st, 4, now);
	if (store_done(st) == -1)
		return -1;
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

int
store_intent_close(
    struct store *s, int64_t id, const char *outcome, int64_t now)
{
	sqlite3_stmt *st = store_stmt(s, ST_INTENT_CLOSE);

	sqlite3_bind_int64(st, 1, id);
	store_bind_text(st, 2, outcome);
	sqlite3_bind_int64(st, 3, now);
	return store_done(st);
}

int
store_intent_attempt(struct store *s, int64_t id)
{
	sqlite3_stmt *st = store_stmt(s, ST_INTENT_ATTEMPT);

	sqlite3_bind_int64(st, 1, id);
	return store_done(st);
}

static void
store_row_to_intent(sqlite3_stmt *st, struct store_intent *i)
{
	i->id = sqlite3_column_int64(st, 0);
	i->key = store_strdup_col(st, 1);
	i->kind = store_strdup_col(st, 2);
	i->justification = store_strdup_col(st, 3);
	i->attempts = sqlite3_column_int(st, 4);
	i->created = sqlite3_column_int64(st, 5);
}

void
store_intent_clear(struct store_intent *i)
{
	if (i == NULL)
		return;
	free(i->key);
	free(i->kind);
	free(i->justification);
	memset(i, 0, sizeof(*i));
}

int
store_intent_each_open(
    struct store *s, int (*cb)(void *, const struct store_intent *), void *arg)
{
	sqlite3_stmt *st = store_stmt(s, ST_INTENT_OPEN);
	struct store_intent i;
	int rc, stop = 0;

	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_row_to_intent(st, &i);
		stop = cb(arg, &i);
		store_intent_clear(&i);
	}
	sqlite3_reset(st);
	return stop || rc == SQLITE_DONE ? 0 : -1;
}

int
store_intent_open_for(
    struct store *s, const char *key, struct store_intent *out)
{
	sqlite3_stmt *st = store_stmt(s, ST_INTENT_OPEN_FOR);
	int rc;

	store_bind_text(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		store_row_to_intent(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? 1 : -1;
}

int
store_timer_set(
    struct store *s, const char *key, int kind, uint32_t stage, int64_t at)
{
	sqlite3_stmt *st = store_stmt(s, ST_TIMER_SET);

	store_bind_text(st, 1, key);
	sqlite3_bind_int(st, 2, kind);
	sqlite3_bind_int(st, 3, (int)stage);
	sqlite3_bind_int64(st, 4, at);
	return store_done(st);
}

int
store_timer_clear(struct store *s, const char *key)
{
	sqlite3_stmt *st = store_stmt(s, ST_TIMER_CLEAR);

	store_bind_text(st, 1, key);
	return store_done(st);
}

int
store_timer_delete(struct store *s, const char *key, int kind)
{
	sqlite3_stmt *st = store_stmt(s, ST_TIMER_DELETE);

	store_bind_text(st, 1, key);
	sqlite3_bind_int(st, 2, kind);
	return store_done(st);
}

int
store_timer_each(
    struct store *s, int (*cb)(void *, const struct store_timer *), void *arg)
{
	sqlite3_stmt *st = store_stmt(s, ST_TIMER_EACH);
	struct store_timer t;
	int rc, stop = 0;

	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		t.key = (char *)sqlite3_column_text(st, 0);
		t.kind = sqlite3_column_int(st, 1);
		t.stage = (uint32_t)sqlite3_column_int(st, 2);
		t.at = sqlite3_column_int64(st, 3);
		stop = cb(arg, &t);
	}
	sqlite3_reset(st);
	return stop || rc == SQLITE_DONE ? 0 : -1;
}

int
store_meta_get(struct store *s, const char *key, char **val)
{
	sqlite3_stmt *st = store_stmt(s, ST_META_GET);
	int rc;

	*val = NULL;
	store_bind_text(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*val = store_strdup_col(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return *val != NULL ? 0 : -1;
	return rc == SQLITE_DONE ? 1 : -1;
}

int
store_meta_set(struct store *s, const char *key, const char *val)
{
	sqlite3_stmt *st = store_stmt(s, ST_META_SET);

	store_bind_text(st, 1, key);
	store_bind_text(st, 2, val);
	return store_done(st);
}

int
store_change_mark(struct store *s, const char *id, int64_t now)
{
	sqlite3_stmt *st = store_stmt(s, ST_CHANGE_MARK);

	store_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	if (store_done(st) == -1)
		return -1;
	return sqlite3_changes(s->db) == 0 ? 1 : 0;
}

int
store_change_seen(struct store *s, const char *id)
{
	sqlite3_stmt *st = store_stmt(s, ST_CHANGE_SEEN);
	int rc;

	store_bind_text(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_change_prune(struct store *s, int64_t before)
{
	sqlite3_stmt *st = store_stmt(s, ST_CHANGE_PRUNE);

	sqlite3_bind_int64(st, 1, before);
	return store_done(st);
}
