/* SQLite store: WAL, synchronous=FULL, versioned schema, prepared statements. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "limits.h"
#include "store.h"
#include "store_sql.h"

#define AUDIT_PRUNE_HASH 80          /* a stored audit hash, hex, with NUL */
#define STORE_SM_MAGIC   0x534d3031u /* "SM01": layout of struct sm_request */

enum store_stmt {
	ST_REQ_GET = 0,
	ST_REQ_PUT,
	ST_JOURNAL_ADD,
	ST_JOURNAL_EACH,
	ST_INTENT_ADD,
	ST_INTENT_CLOSE,
	ST_INTENT_ATTEMPT,
	ST_INTENT_UNATTEMPT,
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
	ST_REQ_COUNTS,
	ST_HEALTH_WAITING,
	ST_HEALTH_ATTENTION,
	ST_HEALTH_OUTBOX,
	ST_HEALTH_DEADLINE,
	ST_PRUNE_PICK,
	ST_PRUNE_JMAX,
	ST_PRUNE_REQ,
	ST_PRUNE_ANCHOR_J,
	ST_PRUNE_JOURNAL,
	ST_PRUNE_INTENTS,
	ST_PRUNE_TIMERS,
	ST_PRUNE_OUTBOX,
	ST_PRUNE_APPROVERS,
	ST_PRUNE_ANCHOR_GET,
	ST_PRUNE_AUDIT_STOP,
	ST_PRUNE_AUDIT_HEAD,
	ST_PRUNE_AUDIT_ROW,
	ST_PRUNE_ANCHOR_A,
	ST_PRUNE_AUDIT,
	ST_MAX
};

static const char *const store_sql[ST_MAX] = {
	[ST_REQ_GET] = "SELECT key, source, gid, approval_id, sm, graph_status,"
	               " body, digest, rule, verdict, reason, created, updated,"
	               " fingerprint, identity, stages FROM requests"
	               " WHERE key = ?1",
	[ST_REQ_PUT] = "INSERT INTO requests (key, source, gid, approval_id,"
	               " state, sm, graph_status, body, digest, rule, verdict,"
	               " reason, created, updated, fingerprint, identity,"
	               " stages) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
	               " ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
	               " ON CONFLICT(key) DO UPDATE"
	               " SET approval_id = ?4, state = ?5, sm = ?6,"
	               " graph_status = ?7, body = ?8, digest = ?9, rule = ?10,"
	               " verdict = ?11, reason = ?12, updated = ?14,"
	               " fingerprint = ?15, identity = ?16, stages = ?17",
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
	[ST_INTENT_UNATTEMPT] = "UPDATE intents SET attempts = attempts - 1"
	                        " WHERE id = ?1 AND attempts > 0",
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
	                " created, updated, fingerprint, identity, stages"
	                " FROM requests ORDER BY created, key",
	[ST_REQ_EACH_STATE] = "SELECT key, source, gid, approval_id, sm,"
	                      " graph_status, body, digest, rule, verdict,"
	                      " reason, created, updated, fingerprint,"
	                      " identity, stages FROM requests"
	                      " WHERE state = ?1 ORDER BY created, key",
	/* request_counts: kept by triggers (migration 8), never a scan of
	 * the requests */
	[ST_REQ_COUNT_BY_STATE] = "SELECT state, sum(n) FROM request_counts"
	                          " GROUP BY state HAVING sum(n) > 0",
	[ST_REQ_COUNTS] = "SELECT source, state, n FROM request_counts"
	                  " ORDER BY source, state",
	/* store_health: every one reads an index (requests_state,
	 * outbox_due), never the settled requests */
	[ST_HEALTH_WAITING] = "SELECT min(created) FROM requests"
	                      " WHERE state = ?1 AND source = ?2",
	[ST_HEALTH_ATTENTION] = "SELECT coalesce(sum(n), 0) FROM"
	                        " request_counts WHERE state = 'attention'",
	[ST_HEALTH_OUTBOX] = "SELECT count(*), min(created) FROM outbox"
	                     " WHERE done IS NULL",
	[ST_HEALTH_DEADLINE] = "SELECT min(at) FROM timers WHERE kind = ?1",
	/* retention (store_retention_prune): settled requests last updated
	 * before ?4 with no open intent, through requests_state (state,
	 * updated) */
	[ST_PRUNE_PICK] = "SELECT key FROM requests WHERE state IN (?1, ?2, ?3)"
	                  " AND updated < ?4 AND NOT EXISTS (SELECT 1 FROM"
	                  " intents i WHERE i.key = requests.key AND"
	                  " i.outcome IS NULL) LIMIT ?5",
	[ST_PRUNE_JMAX] = "SELECT max(seq) FROM journal WHERE key = ?1",
	[ST_PRUNE_REQ] = "DELETE FROM requests WHERE key = ?1",
	[ST_PRUNE_ANCHOR_J] = "UPDATE prune_anchor SET journal_seq ="
	                      " max(journal_seq, ?1), at = ?2, cutoff = ?3"
	                      " WHERE id = 1",
	[ST_PRUNE_JOURNAL] = "DELETE FROM journal WHERE key = ?1",
	[ST_PRUNE_INTENTS] = "DELETE FROM intents WHERE key = ?1",
	[ST_PRUNE_TIMERS] = "DELETE FROM timers WHERE key = ?1",
	[ST_PRUNE_OUTBOX] = "DELETE FROM outbox WHERE key = ?1",
	[ST_PRUNE_APPROVERS] = "DELETE FROM stage_approvers WHERE key = ?1",
	[ST_PRUNE_ANCHOR_GET] = "SELECT audit_seq, audit_hash, audit_at, at,"
	                        " cutoff, journal_seq FROM prune_anchor"
	                        " WHERE id = 1",
	/* the first audit entry after the anchor that must stay: of a
	 * request still stored, or not older than the cutoff */
	[ST_PRUNE_AUDIT_STOP] = "SELECT seq FROM audit a WHERE a.seq > ?1 AND"
	                        " (a.at >= ?2 OR EXISTS (SELECT 1 FROM"
	                        " requests r WHERE r.key = a.key))"
	                        " ORDER BY seq LIMIT 1",
	[ST_PRUNE_AUDIT_HEAD] = "SELECT max(seq) FROM audit",
	[ST_PRUNE_AUDIT_ROW] = "SELECT hash, at FROM audit WHERE seq = ?1",
	[ST_PRUNE_ANCHOR_A] = "UPDATE prune_anchor SET audit_seq = ?1,"
	                      " audit_hash = ?2, audit_at = ?3 WHERE id = 1",
	[ST_PRUNE_AUDIT] = "DELETE FROM audit WHERE seq > ?1 AND seq <= ?2",
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
	/* eligible approvers per (request, stage) (daemon/effects/approvers.c) */
	"CREATE TABLE stage_approvers (key TEXT NOT NULL,"
	" stage INTEGER NOT NULL, id TEXT NOT NULL, upn TEXT,"
	" escalation INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (key, stage, id));",
	/* audit trail, a hash chain (daemon/store/audit.c, ctl/audit.c) */
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
	 * the transition that causes it (daemon/effects/notify.c); nonces of used
	 * decision links (daemon/effects/links.c) */
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
	 * (daemon/engine/reload.c) */
	"ALTER TABLE requests ADD COLUMN fingerprint TEXT;",
	/* 7: the requestor's identity as resolved against the directory
	 * before the request was evaluated (daemon/effects/ident.c), so that every
	 * later re-parse of the body decides on the same identity */
	"ALTER TABLE requests ADD COLUMN identity TEXT;",
	/* 8: stored requests by (source, state), kept by triggers on every
	 * write to requests (any writer), so metrics and `status` read a
	 * handful of rows instead of counting every request (issue 16) */
	"CREATE TABLE request_counts (source INTEGER NOT NULL,"
	" state TEXT NOT NULL, n INTEGER NOT NULL,"
	" PRIMARY KEY (source, state)) WITHOUT ROWID;"
	"INSERT INTO request_counts (source, state, n)"
	" SELECT source, state, count(*) FROM requests GROUP BY source, state;"
	"CREATE TRIGGER request_counts_i AFTER INSERT ON requests BEGIN"
	" INSERT INTO request_counts (source, state, n)"
	" VALUES (NEW.source, NEW.state, 1)"
	" ON CONFLICT (source, state) DO UPDATE SET n = n + 1; END;"
	"CREATE TRIGGER request_counts_d AFTER DELETE ON requests BEGIN"
	" UPDATE request_counts SET n = n - 1"
	" WHERE source = OLD.source AND state = OLD.state; END;"
	"CREATE TRIGGER request_counts_u AFTER UPDATE OF source, state"
	" ON requests WHEN OLD.source IS NOT NEW.source"
	" OR OLD.state IS NOT NEW.state BEGIN"
	" UPDATE request_counts SET n = n - 1"
	" WHERE source = OLD.source AND state = OLD.state;"
	" INSERT INTO request_counts (source, state, n)"
	" VALUES (NEW.source, NEW.state, 1)"
	" ON CONFLICT (source, state) DO UPDATE SET n = n + 1; END;",
	/*
	 * 9: retention (issue 17). Settled requests older than
	 * retention.settled are deleted with their rows
	 * (store_retention_prune). The journal and the audit trail stay
	 * append-only for everyone else: their DELETE triggers now let
	 * through only rows behind the prune anchor, a single row that
	 * only moves forward and cannot be deleted, written in the same
	 * transaction as the deletes:
	 *  - a journal row, only once its request is gone from `requests`
	 *    and when its seq is at or below prune_anchor.journal_seq (the
	 *    newest journal row of the requests pruned so far);
	 *  - an audit entry, only at or below prune_anchor.audit_seq, and
	 *    the anchor moves there only onto an entry that exists, whose
	 *    hash it records: `approvalctl audit verify` starts from that
	 *    hash instead of genesis, so the remaining chain stays
	 *    checkable (an edit, or a deletion that is not a prefix, still
	 *    breaks it).
	 * A bare `DELETE FROM journal` or `DELETE FROM audit` still fails.
	 * requests_state gains `updated` so the pruner finds settled
	 * requests by range, and intents an index by key to delete them.
	 */
	"CREATE TABLE prune_anchor (id INTEGER PRIMARY KEY CHECK (id = 1),"
	" at INTEGER NOT NULL, cutoff INTEGER NOT NULL,"
	" journal_seq INTEGER NOT NULL, audit_seq INTEGER NOT NULL,"
	" audit_hash TEXT NOT NULL, audit_at INTEGER NOT NULL);"
	"INSERT INTO prune_anchor VALUES (1, 0, 0, 0, 0, '', 0);"
	"CREATE TRIGGER prune_anchor_d BEFORE DELETE ON prune_anchor"
	" BEGIN SELECT RAISE(ABORT, 'the prune anchor stays'); END;"
	"CREATE TRIGGER prune_anchor_u BEFORE UPDATE ON prune_anchor"
	" WHEN NEW.id IS NOT OLD.id OR NEW.journal_seq < OLD.journal_seq"
	" OR NEW.audit_seq < OLD.audit_seq OR (NEW.audit_seq = OLD.audit_seq"
	" AND (NEW.audit_hash IS NOT OLD.audit_hash"
	" OR NEW.audit_at IS NOT OLD.audit_at))"
	" OR (NEW.audit_seq > OLD.audit_seq AND NOT EXISTS (SELECT 1"
	" FROM audit WHERE seq = NEW.audit_seq"
	" AND hash = NEW.audit_hash AND at = NEW.audit_at))"
	" BEGIN SELECT RAISE(ABORT, 'the prune anchor only moves forward,"
	" onto an audit entry'); END;"
	"DROP TRIGGER journal_append_only_d;"
	"CREATE TRIGGER journal_append_only_d BEFORE DELETE ON journal"
	" WHEN OLD.seq > coalesce((SELECT journal_seq FROM prune_anchor"
	" WHERE id = 1), 0)"
	" OR EXISTS (SELECT 1 FROM requests WHERE key = OLD.key)"
	" BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;"
	"DROP TRIGGER audit_append_only_d;"
	"CREATE TRIGGER audit_append_only_d BEFORE DELETE ON audit"
	" WHEN OLD.seq > coalesce((SELECT audit_seq FROM prune_anchor"
	" WHERE id = 1), 0)"
	" BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
	"DROP INDEX requests_state;"
	"CREATE INDEX requests_state ON requests (state, updated);"
	"CREATE INDEX intents_key ON intents (key);",
	/* 10: the oldest request still waiting, per state and source, in
	 * one index seek (store_health_get: min(created) for a given state
	 * and source), whatever the number of requests */
	"CREATE INDEX requests_waiting ON requests (state, source, created);",
	/* 11: the stages of a stages verdict as the policy gave them when it
	 * decided (policy_stages_encode, versioned JSON), written with the
	 * verdict and its fingerprint: approver resolution, eligibility and
	 * summaries read them instead of evaluating the policy again
	 * (issue 15). NULL: no stages verdict, or recorded before this. */
	"ALTER TABLE requests ADD COLUMN stages TEXT;",
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

#define STORE_CACHED_MAX   32
#define STORE_RCACHE_SLOTS 256 /* cached request rows, a power of 2 */

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
	/* SQLite rolled the open batch back by itself (SQLITE_FULL, IOERR):
	 * the rest of the batch runs in a doomed transaction, rolled back at
	 * commit, never in autocommit mode */
	int doomed;
	/* writes fail for want of space or by I/O error: why, or "" */
	char degraded[160];
	void (*fault_cb)(void *);
	void *fault_arg;
	struct store_stats stats;
	/* request rows as last read or written (store_rcache_*) */
	struct store_request *rcache;
	/* the audit chain's head within the open batch (store_audit_head) */
	int audit_known;
	int64_t audit_seq;
	char audit_hash[AUDIT_PRUNE_HASH];
};

static void store_rcache_clear(struct store *s);

static char *
store_strdup_col(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t != NULL ? strdup((const char *)t) : NULL;
}

/*
 * A write failed with `rc`. Out of space or an I/O error makes the store
 * degraded (store_recover() cures it) and tells the daemon once. When
 * SQLite rolled the open batch back by itself, the batch is doomed; so it
 * is on SQLITE_FULL, SQLITE_IOERR and SQLITE_NOMEM even when SQLite rolled
 * back only the failed statement (it does so for a statement with a
 * statement journal, one that fires triggers such as request_counts'):
 * the rest of the batch must not commit without it.
 */
static void
store_failed(struct store *s, int rc)
{
	int primary = rc & 0xff;

	s->audit_known = 0;
	store_rcache_clear(s);
	if (s->in_batch &&
	    (sqlite3_get_autocommit(s->db) || primary == SQLITE_FULL ||
	        primary == SQLITE_IOERR || primary == SQLITE_NOMEM))
		s->doomed = 1;
	if (primary != SQLITE_FULL && primary != SQLITE_IOERR)
		return;
	if (s->degraded[0] == '\0') {
		snprintf(s->degraded, sizeof(s->degraded), "%s",
		    primary == SQLITE_FULL ? "disk full" : "I/O error");
		if (s->fault_cb != NULL)
			s->fault_cb(s->fault_arg);
	}
}

/*
 * Before a write in a batch: if SQLite already rolled the batch back, open
 * a transaction again, so that the rest of the batch is rolled back with
 * it at commit instead of committing statement by statement.
 */
static void
store_guard(struct store *s)
{
	if (!s->in_batch || !sqlite3_get_autocommit(s->db))
		return;
	s->doomed = 1;
	sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
}

static int
store_exec(struct store *s, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		store_failed(s, sqlite3_extended_errcode(s->db));
	return rc == SQLITE_OK ? 0 : -1;
}

/* SQLITE_TRACE_STMT: a statement starts; `x` is its text, or "-- ..." for
 * a trigger's body, which is part of the statement that fired it. */
static int
store_trace(unsigned type, void *arg, void *p, void *x)
{
	struct store *s = arg;
	const char *sql = x;

	(void)p;
	if (type == SQLITE_TRACE_STMT &&
	    (sql == NULL || sql[0] != '-' || sql[1] != '-'))
		s->stats.statements++;
	return 0;
}

void
store_stats_get(struct store *s, struct store_stats *out)
{
	*out = s->stats;
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
		if (asprintf(err,
		        "state database schema version %d is newer than "
		        "this approvald (%zu)",
		        version, n) == -1)
			*err = NULL;
		return -1;
	}
	for (i = (size_t)version; i < n; i++) {
		if (store_exec(s, "BEGIN IMMEDIATE") == -1)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %zu", i + 1);
		if (store_exec(s, store_migrations[i]) == -1 ||
		    store_exec(s, sql) == -1) {
			if (asprintf(err, "migration %zu: %s", i + 1,
			        sqlite3_errmsg(s->db)) == -1)
				*err = NULL;
			store_exec(s, "ROLLBACK");
			return -1;
		}
		if (store_exec(s, "COMMIT") == -1)
			goto fail;
	}
	return 0;
fail:
	sqlite3_finalize(st);
	if (asprintf(err, "migrate: %s", sqlite3_errmsg(s->db)) == -1)
		*err = NULL;
	return -1;
}

/*
 * Who holds the OFD lock on the file open as `fd`: the pid of a process
 * with a descriptor on the same inode whose fdinfo lists an OFD lock.
 * Best effort (0 when unknown): OFD locks have no owner pid, /proc/locks
 * shows -1, but /proc/PID/fdinfo/FD lists the locks of that descriptor.
 */
static pid_t
store_lock_holder(int fd)
{
	struct stat sb, fsb;
	DIR *proc = NULL, *fds;
	struct dirent *p, *f;
	char path[300], line[256];
	FILE *fp;
	pid_t pid, holder = 0, self = getpid();

	if (fstat(fd, &sb) == -1 || (proc = opendir("/proc")) == NULL)
		return 0;
	while (holder == 0 && (p = readdir(proc)) != NULL) {
		if ((pid = (pid_t)strtol(p->d_name, NULL, 10)) <= 0 ||
		    pid == self)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
		if ((fds = opendir(path)) == NULL)
			continue;
		while (holder == 0 && (f = readdir(fds)) != NULL) {
			snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid,
			    f->d_name);
			if (f->d_name[0] == '.' || stat(path, &fsb) == -1 ||
			    fsb.st_dev != sb.st_dev || fsb.st_ino != sb.st_ino)
				continue;
			snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s",
			    (int)pid, f->d_name);
			if ((fp = fopen(path, "re")) == NULL)
				continue;
			while (fgets(line, sizeof(line), fp) != NULL)
				if (strstr(line, "OFDLCK") != NULL &&
				    strstr(line, "WRITE") != NULL)
					holder = pid;
			fclose(fp);
		}
		closedir(fds);
	}
	closedir(proc);
	return holder;
}

/*
 * One daemon per state database. The lock is an OFD write lock on byte 0
 * of the database file itself, so it belongs to the file (device and
 * inode), not to a name: a symlink, a hard link or a bind mount of the
 * database meets the same lock, where a lock file named after the path
 * did not (and two names of one database would each get their own -wal
 * file: certain corruption). Byte 0 is never locked by SQLite (its locks
 * sit at 1 GiB, PENDING_BYTE, and in the -shm file), so ours never blocks
 * SQLite, in this process or in an sqlite3 shell reading the file. Unlike
 * a classic POSIX lock it is not dropped when SQLite closes another
 * descriptor of the file, and it conflicts even within one process; the
 * kernel releases it when the process dies. The file is opened (created
 * when new: SQLite takes an empty file as a new database) before SQLite
 * opens it.
 */
static int
store_lock(struct store *s, const char *path, char **err)
{
	struct flock fl;
	pid_t holder;
	int rc;

	s->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lockfd == -1) {
		if (asprintf(err, "%s: %s", path, strerror(errno)) == -1)
			*err = NULL;
		return -1;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 1;
	if (fcntl(s->lockfd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno != EAGAIN && errno != EACCES) {
		if (asprintf(err, "%s: cannot lock: %s", path,
		        strerror(errno)) == -1)
			*err = NULL;
		return -1;
	}
	if ((holder = store_lock_holder(s->lockfd)) > 0)
		rc = asprintf(err,
		    "%s is in use by another approvald (pid %d); one daemon "
		    "per state database, whatever name it is reached by",
		    path, (int)holder);
	else
		rc = asprintf(err,
		    "%s is in use by another approvald (its pid is not "
		    "visible from here); one daemon per state database, "
		    "whatever name it is reached by",
		    path);
	if (rc == -1)
		*err = NULL;
	return -1;
}

#define STORE_RECOVERY_HINT                                                    \
	"approvald will not run on it. Keep the damaged file and its -wal "    \
	"for analysis, then restore the last backup, or salvage what is "      \
	"readable with `sqlite3 DAMAGED .recover | sqlite3 NEW`, check it "    \
	"with `approvalctl audit verify --state NEW` and put NEW in "          \
	"state_path; requests are read again from Graph, and every open "      \
	"intent is read back before anything is sent (README: \"A damaged "    \
	"state database\")"

/*
 * PRAGMA quick_check before anything runs: it reads every page once and
 * checks the b-tree structure, record formats and freelist, but not that
 * indexes match their tables (integrity_check, O(N log N), does that), so
 * its cost is one sequential read of the file (well under a second for
 * the tens of MB a deployment keeps). At most STORE_QUICK_CHECK_ERRORS
 * problems are listed.
 */
static int
store_check(struct store *s, const char *path, char **err)
{
	sqlite3_stmt *st = NULL;
	const char *row;
	char what[512];
	size_t wl = 0;
	int rc, ok = 1;

	what[0] = '\0';
	rc = sqlite3_prepare_v2(s->db, STORE_PRAGMA_QUICK_CHECK, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = SQLITE_ROW;
	while (rc == SQLITE_ROW && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		row = (const char *)sqlite3_column_text(st, 0);
		if (row != NULL && strcmp(row, "ok") == 0)
			continue;
		ok = 0;
		if (wl < sizeof(what) - 1)
			wl += (size_t)snprintf(what + wl, sizeof(what) - wl,
			    "%s%s", wl ? "; " : "", row ? row : "?");
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		ok = 0;
		snprintf(what, sizeof(what), "%s", sqlite3_errmsg(s->db));
	}
	if (ok)
		return 0;
	for (wl = 0; what[wl] != '\0'; wl++)
		if (what[wl] == '\n' || what[wl] == '\r')
			what[wl] = ' ';
	if (asprintf(err, "state database %s is damaged (%s); %s", path, what,
	        STORE_RECOVERY_HINT) == -1)
		*err = NULL;
	return -1;
}

/*
 * Test builds only (crash_max_pages): a database quota in pages (PRAGMA
 * max_page_count), re-read at every recovery attempt, so a test can fill
 * the "disk" and free it again.
 */
/* crash.c, linked into the daemons, not into approvalctl (weak: NULL). */
long crash_max_pages(void) __attribute__((weak));

static void
store_test_quota(struct store *s)
{
	long n = crash_max_pages != NULL ? crash_max_pages() : -1;
	char sql[64];

	if (n > 0) {
		snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %ld", n);
		sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	}
}

int
store_open(const char *path, struct store **out, char **err)
{
	struct store *s;
	size_t i;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		if (asprintf(err, "out of memory") == -1)
			*err = NULL;
		return -1;
	}
	s->lockfd = -1;
	if (store_lock(s, path, err) == -1)
		goto fail;
	if (sqlite3_open_v2(path, &s->db,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	            SQLITE_OPEN_NOMUTEX,
	        NULL) != SQLITE_OK) {
		if (asprintf(err, "%s: %s", path,
		        s->db ? sqlite3_errmsg(s->db) : "cannot open") == -1)
			*err = NULL;
		goto fail;
	}
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	if (store_exec(s, "PRAGMA journal_mode = WAL") == -1) {
		int rc = sqlite3_errcode(s->db);

		if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
			rc = asprintf(err,
			    "state database %s is damaged (%s); %s", path,
			    sqlite3_errmsg(s->db), STORE_RECOVERY_HINT);
		else
			rc = asprintf(
			    err, "%s: %s", path, sqlite3_errmsg(s->db));
		if (rc == -1)
			*err = NULL;
		goto fail;
	}
	if (store_check(s, path, err) == -1)
		goto fail;
	if (store_exec(s, "PRAGMA synchronous = FULL") == -1 ||
	    store_exec(s, "PRAGMA foreign_keys = ON") == -1 ||
	    store_exec(s, STORE_PRAGMA_CACHE) == -1 ||
	    store_exec(s, STORE_PRAGMA_CHECKPOINT) == -1) {
		if (asprintf(err, "%s: %s", path, sqlite3_errmsg(s->db)) == -1)
			*err = NULL;
		goto fail;
	}
	if (store_migrate(s, err) == -1)
		goto fail;
	for (i = 0; i < ST_MAX; i++)
		if (sqlite3_prepare_v3(s->db, store_sql[i], -1,
		        SQLITE_PREPARE_PERSISTENT, &s->st[i],
		        NULL) != SQLITE_OK) {
			if (asprintf(err, "prepare %zu: %s", i,
			        sqlite3_errmsg(s->db)) == -1)
				*err = NULL;
			goto fail;
		}
	store_test_quota(s);
	/* without it every read goes to the database */
	s->rcache = calloc(STORE_RCACHE_SLOTS, sizeof(*s->rcache));
	/* counted from here: what the daemon does, not the opening */
	sqlite3_trace_v2(s->db, SQLITE_TRACE_STMT, store_trace, s);
	*out = s;
	return 0;
fail:
	store_close(s);
	return -1;
}

/* Tell cb(arg) when writes start failing for want of space or by an I/O
 * error (once, until store_recover() succeeds). */
void
store_set_fault_cb(struct store *s, void (*cb)(void *), void *arg)
{
	s->fault_cb = cb;
	s->fault_arg = arg;
}

const char *
store_degraded(struct store *s)
{
	return s->degraded[0] != '\0' ? s->degraded : NULL;
}

/*
 * Try to leave the degraded state, outside any batch: checkpoint the WAL
 * into the database and truncate it to zero bytes (the space it held is
 * what a small volume lacks: the autocheckpoint threshold may never be
 * reached on it), then one probe transaction that writes and deletes
 * STORE_PROBE_BYTES, so that success means a batch of that size fits
 * again, not merely a row rewritten in place. 0 when writes work again,
 * -1 (and the reason kept) when not.
 */
int
store_recover(struct store *s)
{
	int logged = 0, ckpt = 0;

	if (s->in_batch)
		return -1;
	store_test_quota(s);
	/* May fail for want of space itself (the database grows by the
	 * pages it takes in): the probe below says whether writes work. */
	sqlite3_wal_checkpoint_v2(
	    s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &logged, &ckpt);
	if (store_exec(s, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (store_exec(s, STORE_PROBE_SQL) == -1 ||
	    store_exec(s, "COMMIT") == -1) {
		if (!sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	s->degraded[0] = '\0';
	return 0;
}

void
store_close(struct store *s)
{
	size_t i;

	if (s == NULL)
		return;
	if (s->in_batch)
		store_rollback(s);
	store_rcache_clear(s);
	free(s->rcache);
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

	store_guard(s);
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
store_audit_head(struct store *s, int64_t *seq, char *hash, size_t n)
{
	if (!s->in_batch || !s->audit_known || s->doomed ||
	    strlen(s->audit_hash) >= n)
		return 0;
	*seq = s->audit_seq;
	memcpy(hash, s->audit_hash, strlen(s->audit_hash) + 1);
	return 1;
}

void
store_audit_head_set(struct store *s, int64_t seq, const char *hash)
{
	if (!s->in_batch || hash[0] == '\0' ||
	    strlen(hash) >= sizeof(s->audit_hash)) {
		s->audit_known = 0;
		return;
	}
	s->audit_seq = seq;
	memcpy(s->audit_hash, hash, strlen(hash) + 1);
	s->audit_known = 1;
}

int
store_begin(struct store *s)
{
	if (s->in_batch)
		return 0;
	s->audit_known = 0; /* a batch begins */
	if (store_exec(s, "BEGIN IMMEDIATE") == -1)
		return -1;
	s->in_batch = 1;
	s->doomed = 0;
	return 0;
}

/* Commit the batch; -1 when it could not be, or when SQLite had already
 * rolled part of it back (the rest is rolled back here: a batch is
 * durable whole or not at all). */
int
store_commit(struct store *s)
{
	s->audit_known = 0;
	if (!s->in_batch)
		return 0;
	if (s->doomed) {
		store_rollback(s);
		return -1;
	}
	if (store_exec(s, "COMMIT") == -1) {
		store_rcache_clear(s);
		/* SQLite rolls back a COMMIT that failed other than busy. */
		if (sqlite3_get_autocommit(s->db)) {
			s->in_batch = 0;
			s->doomed = 0;
		}
		return -1;
	}
	s->in_batch = 0;
	return 0;
}

void
store_rollback(struct store *s)
{
	s->audit_known = 0;
	store_rcache_clear(s);
	if (!s->in_batch)
		return;
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_batch = 0;
	s->doomed = 0;
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

	store_guard(s);
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
store_done(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		store_failed(s, sqlite3_extended_errcode(s->db));
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
	r->stages = store_strdup_col(st, 15);
	return 0;
}

/*
 * A cache of request rows as this process last read or wrote them, so
 * that the steps of one decision (intake, verdict, read-back, step read,
 * the call, its result) do not read the row back and decode its state
 * record each time (issue 15). One slot per key hash, holding the row as
 * the database has it: filled by a read, updated by a write of a row it
 * holds (a write never changes key, source, gid or created: the upsert
 * keeps them), emptied when a write fails and wholly on every rollback
 * and retention prune. This process is the only writer while it holds
 * the database's lock, so the cache never differs from the committed or
 * open transaction.
 */

static char *
store_dup(const char *v)
{
	return v != NULL ? strdup(v) : NULL;
}

/* A deep copy of src into dst: every pointer field of struct store_request
 * (a new one is added here and in store_request_clear); 0, or -1 (dst
 * cleared) when out of memory. */
static int
store_request_copy(struct store_request *dst, const struct store_request *src)
{
	*dst = *src;
	dst->key = store_dup(src->key);
	dst->gid = store_dup(src->gid);
	dst->approval_id = store_dup(src->approval_id);
	dst->graph_status = store_dup(src->graph_status);
	dst->body = store_dup(src->body);
	dst->rule = store_dup(src->rule);
	dst->verdict = store_dup(src->verdict);
	dst->reason = store_dup(src->reason);
	dst->identity = store_dup(src->identity);
	dst->stages = store_dup(src->stages);
	if ((src->stages && !dst->stages) || (src->key && !dst->key) ||
	    (src->gid && !dst->gid) ||
	    (src->approval_id && !dst->approval_id) ||
	    (src->graph_status && !dst->graph_status) ||
	    (src->body && !dst->body) || (src->rule && !dst->rule) ||
	    (src->verdict && !dst->verdict) || (src->reason && !dst->reason) ||
	    (src->identity && !dst->identity)) {
		store_request_clear(dst);
		return -1;
	}
	return 0;
}

static struct store_request *
store_rcache_slot(struct store *s, const char *key)
{
	unsigned h = 5381;
	const char *p;

	if (s->rcache == NULL || key == NULL)
		return NULL;
	for (p = key; *p; p++)
		h = h * 33 + (unsigned char)*p;
	return &s->rcache[h & (STORE_RCACHE_SLOTS - 1)];
}

/* Forget every cached row (a rollback, a prune). */
static void
store_rcache_clear(struct store *s)
{
	size_t i;

	if (s->rcache == NULL)
		return;
	for (i = 0; i < STORE_RCACHE_SLOTS; i++)
		if (s->rcache[i].key != NULL)
			store_request_clear(&s->rcache[i]);
}

/* The row `r` was read from the database: keep a copy. */
static void
store_rcache_fill(struct store *s, const struct store_request *r)
{
	struct store_request *c = store_rcache_slot(s, r->key);

	if (c == NULL)
		return;
	store_request_clear(c);
	store_request_copy(c, r);
}

/* The row of r->key was written as `r` (ok) or the write failed. */
static void
store_rcache_write(struct store *s, const struct store_request *r, int ok)
{
	struct store_request *c = store_rcache_slot(s, r->key);
	struct store_request n;

	if (c == NULL || c->key == NULL || strcmp(c->key, r->key) != 0)
		return;
	if (!ok || store_request_copy(&n, r) == -1) {
		store_request_clear(c);
		return;
	}
	/* what the upsert keeps */
	free(n.gid);
	n.gid = c->gid;
	c->gid = NULL;
	n.source = c->source;
	n.created = c->created;
	store_request_clear(c);
	*c = n;
}

int
store_request_get(struct store *s, const char *key, struct store_request *out)
{
	struct store_request *c = store_rcache_slot(s, key);
	sqlite3_stmt *st;
	int rc;

	if (c != NULL && c->key != NULL && strcmp(c->key, key) == 0 &&
	    store_request_copy(out, c) == 0)
		return 0;
	st = store_stmt(s, ST_REQ_GET);
	store_bind_text(st, 1, key);
	s->stats.request_reads++;
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
	store_rcache_fill(s, out);
	return 0;
}

int
store_request_put(struct store *s, const struct store_request *r)
{
	sqlite3_stmt *st = store_stmt(s, ST_REQ_PUT);
	unsigned char blob[STORE_SM_MAXENC];
	size_t bloblen = store_sm_encode(&r->sm, blob);
	int rc;

	s->stats.request_writes++;

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
	store_bind_text(st, 17, r->stages);
	rc = store_done(s, st);
	store_rcache_write(s, r, rc == 0);
	return rc;
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
	free(r->stages);
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
store_request_counts(
    struct store *s, int (*cb)(void *, int, const char *, int64_t), void *arg)
{
	sqlite3_stmt *st = store_stmt(s, ST_REQ_COUNTS);
	int rc, stop = 0;

	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW)
		stop = cb(arg, sqlite3_column_int(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    sqlite3_column_int64(st, 2));
	sqlite3_reset(st);
	return stop || rc == SQLITE_DONE ? 0 : -1;
}

static const char *const intent_kind_names[INTENT_KIND_MAX] = {
	[INTENT_APPROVE] = "approve",
	[INTENT_DENY] = "deny",
	[INTENT_CANCEL] = "cancel",
};

const char *
intent_kind_name(enum intent_kind k)
{
	return (unsigned)k < INTENT_KIND_MAX ? intent_kind_names[k] : NULL;
}

int
intent_kind_from_name(const char *name)
{
	int k;

	for (k = 0; name != NULL && k < INTENT_KIND_MAX; k++)
		if (strcmp(intent_kind_names[k], name) == 0)
			return k;
	return -1;
}

int
store_health_get(struct store *s, struct store_health *h)
{
	sqlite3_stmt *st;
	int rc, src;

	/* Not yet decided: waiting for the policy, approvers or Graph. */
	static const enum sm_state waiting[] = { SM_S_NEW, SM_S_EVALUATING,
		SM_S_PENDING, SM_S_ESCALATED, SM_S_APPROVING, SM_S_REJECTING,
		SM_S_CANCELING };
	size_t w;
	int64_t t;

	memset(h, 0, sizeof(*h));
	st = store_stmt(s, ST_HEALTH_WAITING);
	for (w = 0; w < sizeof(waiting) / sizeof(waiting[0]); w++)
		for (src = 0; src < STORE_HEALTH_SOURCES; src++) {
			sqlite3_bind_text(st, 1, sm_state_name(waiting[w]), -1,
			    SQLITE_STATIC);
			sqlite3_bind_int(st, 2, src);
			rc = sqlite3_step(st);
			t = rc == SQLITE_ROW &&
			            sqlite3_column_type(st, 0) != SQLITE_NULL
			        ? sqlite3_column_int64(st, 0)
			        : 0;
			sqlite3_reset(st);
			if (rc != SQLITE_ROW)
				return -1;
			if (t > 0 && (h->oldest_waiting[src] == 0 ||
			                 t < h->oldest_waiting[src]))
				h->oldest_waiting[src] = t;
		}
	st = store_stmt(s, ST_HEALTH_ATTENTION);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		h->attention = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return -1;
	st = store_stmt(s, ST_HEALTH_OUTBOX);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		h->outbox = sqlite3_column_int64(st, 0);
		h->outbox_oldest = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return -1;
	st = store_stmt(s, ST_HEALTH_DEADLINE);
	sqlite3_bind_int(st, 1, SM_T_DENY);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		h->next_deadline = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : -1;
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
	return store_done(s, st);
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
	if (store_done(s, st) == -1)
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
	return store_done(s, st);
}

int
store_intent_attempt(struct store *s, int64_t id)
{
	sqlite3_stmt *st = store_stmt(s, ST_INTENT_ATTEMPT);

	sqlite3_bind_int64(st, 1, id);
	return store_done(s, st);
}

int
store_intent_unattempt(struct store *s, int64_t id)
{
	sqlite3_stmt *st = store_stmt(s, ST_INTENT_UNATTEMPT);

	sqlite3_bind_int64(st, 1, id);
	return store_done(s, st);
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
	return store_done(s, st);
}

int
store_timer_clear(struct store *s, const char *key)
{
	sqlite3_stmt *st = store_stmt(s, ST_TIMER_CLEAR);

	store_bind_text(st, 1, key);
	return store_done(s, st);
}

int
store_timer_delete(struct store *s, const char *key, int kind)
{
	sqlite3_stmt *st = store_stmt(s, ST_TIMER_DELETE);

	store_bind_text(st, 1, key);
	sqlite3_bind_int(st, 2, kind);
	return store_done(s, st);
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
	return store_done(s, st);
}

int
store_change_mark(struct store *s, const char *id, int64_t now)
{
	sqlite3_stmt *st = store_stmt(s, ST_CHANGE_MARK);

	store_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	if (store_done(s, st) == -1)
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
	return store_done(s, st);
}

/* Run the statement `which`, bound to `key`, that returns no rows. */
static int
store_prune_key(struct store *s, enum store_stmt which, const char *key)
{
	sqlite3_stmt *st = store_stmt(s, which);

	store_bind_text(st, 1, key);
	return store_done(s, st);
}

/* One int64 column of a one-row query already bound; *v stays when it is
 * NULL or there is no row. 0 or -1. */
static int
store_prune_int(sqlite3_stmt *st, int64_t *v)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		*v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Delete the audit prefix that belongs to no stored request and is older
 * than `cutoff` (at most `limit` entries), always keeping the head (the
 * next entry chains onto it); move the anchor onto the last one deleted. */
static int
store_prune_audit(
    struct store *s, int64_t cutoff, int limit, struct store_prune *out)
{
	sqlite3_stmt *st;
	int64_t anchor = 0, stop = 0, head = 0, end, at;
	char hash[AUDIT_PRUNE_HASH];
	const unsigned char *h;
	int rc;

	st = store_stmt(s, ST_PRUNE_ANCHOR_GET);
	if (store_prune_int(st, &anchor) == -1)
		return -1;
	if (store_prune_int(store_stmt(s, ST_PRUNE_AUDIT_HEAD), &head) == -1)
		return -1;
	st = store_stmt(s, ST_PRUNE_AUDIT_STOP);
	sqlite3_bind_int64(st, 1, anchor);
	sqlite3_bind_int64(st, 2, cutoff);
	stop = head;
	if (store_prune_int(st, &stop) == -1)
		return -1;
	if (stop > head)
		stop = head;
	end = stop - 1;
	if (end > anchor + limit) {
		end = anchor + limit;
		out->more = 1;
	}
	if (end <= anchor)
		return 0;
	st = store_stmt(s, ST_PRUNE_AUDIT_ROW);
	sqlite3_bind_int64(st, 1, end);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW ||
	    (h = sqlite3_column_text(st, 0)) == NULL ||
	    strlen((const char *)h) >= sizeof(hash)) {
		/* a hole in the chain: leave it for audit verify to report */
		sqlite3_reset(st);
		return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
	}
	snprintf(hash, sizeof(hash), "%s", (const char *)h);
	at = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	st = store_stmt(s, ST_PRUNE_ANCHOR_A);
	sqlite3_bind_int64(st, 1, end);
	store_bind_text(st, 2, hash);
	sqlite3_bind_int64(st, 3, at);
	if (store_done(s, st) == -1)
		return -1;
	st = store_stmt(s, ST_PRUNE_AUDIT);
	sqlite3_bind_int64(st, 1, anchor);
	sqlite3_bind_int64(st, 2, end);
	if (store_done(s, st) == -1)
		return -1;
	out->audit = sqlite3_changes(s->db);
	return 0;
}

static int
store_prune_step(struct store *s, int64_t cutoff, int64_t now, int limit,
    struct store_prune *out)
{
	static const enum store_stmt rows[] = { ST_PRUNE_JOURNAL,
		ST_PRUNE_INTENTS, ST_PRUNE_TIMERS, ST_PRUNE_OUTBOX,
		ST_PRUNE_APPROVERS };
	sqlite3_stmt *st;
	char **keys;
	int64_t jmax = 0;
	size_t n = 0, i, j;
	int rc = -1, step;

	if ((keys = calloc((size_t)limit, sizeof(*keys))) == NULL)
		return -1;
	st = store_stmt(s, ST_PRUNE_PICK);
	store_bind_text(st, 1, sm_state_name(SM_S_REJECTED));
	store_bind_text(st, 2, sm_state_name(SM_S_CANCELED));
	store_bind_text(st, 3, sm_state_name(SM_S_COMPLETED));
	sqlite3_bind_int64(st, 4, cutoff);
	sqlite3_bind_int(st, 5, limit);
	while ((step = sqlite3_step(st)) == SQLITE_ROW && n < (size_t)limit)
		if ((keys[n] = store_strdup_col(st, 0)) != NULL)
			n++;
	sqlite3_reset(st);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		goto out;
	out->more = n == (size_t)limit;
	/* the request rows first: the journal trigger lets a row go only
	 * once its request is gone */
	for (i = 0; i < n; i++) {
		st = store_stmt(s, ST_PRUNE_JMAX);
		store_bind_text(st, 1, keys[i]);
		if (store_prune_int(st, &jmax) == -1 ||
		    store_prune_key(s, ST_PRUNE_REQ, keys[i]) == -1)
			goto out;
	}
	st = store_stmt(s, ST_PRUNE_ANCHOR_J);
	sqlite3_bind_int64(st, 1, jmax);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, cutoff);
	if (store_done(s, st) == -1)
		goto out;
	for (i = 0; i < n; i++)
		for (j = 0; j < sizeof(rows) / sizeof(rows[0]); j++)
			if (store_prune_key(s, rows[j], keys[i]) == -1)
				goto out;
	out->requests = (int64_t)n;
	rc = store_prune_audit(s, cutoff, limit * 20, out);
out:
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	return rc;
}

int
store_retention_prune(struct store *s, int64_t cutoff, int64_t now, int limit,
    struct store_prune *out)
{
	memset(out, 0, sizeof(*out));
	if (!s->in_batch || limit <= 0)
		return -1;
	store_rcache_clear(s);
	if (store_exec(s, "SAVEPOINT retention") == -1)
		return -1;
	if (store_prune_step(s, cutoff, now, limit, out) == -1) {
		memset(out, 0, sizeof(*out));
		if (!sqlite3_get_autocommit(s->db)) {
			sqlite3_exec(
			    s->db, "ROLLBACK TO retention", NULL, NULL, NULL);
			sqlite3_exec(
			    s->db, "RELEASE retention", NULL, NULL, NULL);
		}
		return -1;
	}
	return store_exec(s, "RELEASE retention");
}
