/*
 * Every bound an outsider can push against, in one place.
 */
#ifndef LIMITS_H
#define LIMITS_H

/* Graph client */
#define GRAPH_MAX_BODY        (8 * 1024 * 1024)  /* response body bytes */
#define GRAPH_MAX_INFLIGHT    64                 /* concurrent transfers cap */
#define GRAPH_EASY_POOL       GRAPH_MAX_INFLIGHT /* idle curl handles kept */
#define GRAPH_CONNECT_TIMEOUT 10                 /* seconds */
#define GRAPH_MAX_PAGES       1000 /* pages followed per listing */
#define GRAPH_MAX_RETRIES     8    /* per call, transient errors */
#define GRAPH_BACKOFF_BASE_MS 200
#define GRAPH_BACKOFF_MAX_MS  60000
/* Reads answered "shutting down" at exit at most (each may start another). */
/* A credential failing this often in a row, or for this long, makes
 * /readyz 503 (an outright refusal does at once). */
#define HEALTH_CRED_FAILURES 3
#define HEALTH_CRED_DEAD_S   60
/* Graph counts as unreachable (/readyz 503, approvald_graph_up 0) after
 * this many seconds of nothing but transport failures and 5xx answers. */
#define GRAPH_DOWN_AFTER_S    60
#define GRAPH_REQUEST_ID_MAX  64 /* request-id / client-request-id kept */
#define CALL_DRAIN_MAX        100000
#define GRAPH_MAX_RETRY_AFTER 300 /* seconds honoured at most */
#define GRAPH_PAGE_SIZE       200 /* $top on listings */

/* Tokens */
#define TOKEN_REFRESH_MARGIN 300 /* refresh this many s early */
#define TOKEN_MIN_LIFETIME   30
#define TOKEN_ASSERTION_TTL  600 /* client assertion exp */
#define TOKEN_MAX_SIZE       (64 * 1024)
#define TOKEN_BACKOFF_MIN_MS 1000   /* first wait after a token failure */
#define TOKEN_BACKOFF_MAX_MS 300000 /* doubling up to 5 min */

/* Poller and engine */
#define POLL_INITIAL_LOOKBACK   (7 * 86400) /* first start: changes since */
#define POLL_MAX_FETCH_INFLIGHT 32          /* request fetches in flight */
#define LISTER_MAX_SCOPES       256  /* groups listed one by one per cycle */
#define LISTER_GRANT_MARGIN     3600 /* followed past a grant's end, s */
#define SEEN_CHANGES_KEEP       (3 * 86400) /* keep seen change ids */
#define RECONCILE_INTERVAL      60          /* seconds between reconciles */
#define INTENT_MAX_ATTEMPTS     10          /* then: attention */
/* An operation's read-backs that fail (no answer, 5xx, 401 after a
 * refresh) are tried again this often, backing off from
 * GRAPH_BACKOFF_BASE_MS to GRAPH_BACKOFF_MAX_MS (about 5 minutes in all),
 * then the request needs attention. Waiting for a token that a credential
 * cannot give is not counted: nothing reaches Graph meanwhile. */
#define EXEC_READBACK_MAX      12
#define EXEC_TOKEN_WAIT_MAX_MS 60000
#define RELOAD_BATCH           256 /* requests a reload restarts per commit */

/* A change dated later than now + this (seconds) is implausible: it is
 * applied, but never moves the watermark (nor does an unparseable date),
 * and the watermark itself never passes now + this. */
#define POLL_MAX_CLOCK_SKEW 300

/* Store */
#define STORE_BUSY_TIMEOUT_MS 5000
/* Group commit (see engine_batch_dirty): after a batch of at least
 * STORE_COMMIT_BUSY transitions, at least STORE_COMMIT_GAP_US between the
 * end of one commit and the next */
#define STORE_COMMIT_GAP_US 2000
#define STORE_COMMIT_BUSY   8
/* Page cache (KiB, negative in SQLite's terms): the open requests' pages
 * stay in memory instead of being read back per step. */
#define STORE_PRAGMA_CACHE "PRAGMA cache_size = -4096"
/* Checkpoint the WAL every 4,000 pages (16 MB): a page rewritten by many
 * commits is copied to the database once per checkpoint. */
#define STORE_PRAGMA_CHECKPOINT "PRAGMA wal_autocheckpoint = 4000"
/* At start: at most this many problems listed by the structure check. */
#define STORE_PRAGMA_QUICK_CHECK "PRAGMA quick_check(5)"
/* Degraded store (writes fail: disk full, I/O error): recovery attempts
 * (WAL checkpoint + probe write) back off from the first to the last. */
#define STORE_RECOVER_FIRST_MS 250
#define STORE_RECOVER_MAX_MS   30000
/* A recovery probe writes and deletes this much in one transaction: it
 * succeeds only when a batch of that size fits again. */
#define STORE_PROBE_SQL                                                        \
	"INSERT INTO meta (key, value) VALUES ('store_probe',"                 \
	" zeroblob(65536)) ON CONFLICT(key) DO UPDATE SET"                     \
	" value = excluded.value;"                                             \
	"DELETE FROM meta WHERE key = 'store_probe'"

/* Control socket and HTTP listener */
#define CTL_MAX_LINE    4096
#define CTL_MAX_CLIENTS 16
/* Header bytes evhttp itself accepts (libevent refuses beyond, 400/413);
 * http.max_header_bytes, at most this, is checked by httpd.c (431). The
 * connection caps (all peers, and per peer address:
 * http.max_connections_per_peer, 16), timeout, body limit and rate limit
 * are settings (http.*, config/settings.c). */
#define HTTP_HEADERS_HARD_MAX (64 * 1024)
#define HTTP_LOG_BURST        10 /* refused-request log lines a minute */

/* Webhooks in */
#define HOOK_MAX_BODY      (64 * 1024) /* bytes of a hook body */
#define HOOK_REPLAY_WINDOW 300         /* seconds a signature is valid */
#define HOOK_REPLAY_CACHE  1024        /* accepted signatures remembered */
/* bytes of the hook secret and of the Graph clientState at least: as the
 * decision links' key (LINK_MIN_SECRET) */
#define HOOK_MIN_SECRET 32

/* Notifications out (notify.c) */
#define NOTIFY_TIMEOUT         10    /* seconds per delivery */
#define NOTIFY_MAX_INFLIGHT    64    /* deliveries in flight, all targets */
#define NOTIFY_TARGET_INFLIGHT 4     /* deliveries in flight per target */
#define NOTIFY_MAX_ATTEMPTS    20    /* then the message is dropped */
#define NOTIFY_BACKOFF_BASE    2     /* seconds, doubled per failure */
#define NOTIFY_BACKOFF_MAX     3600  /* seconds */
#define NOTIFY_BATCH_RETRY_MS  50    /* wait for the open batch to commit */
#define NOTIFY_KEEP            86400 /* seconds a delivered row is kept */
#define NOTIFY_UNREADY_KEEP    (7 * 86400) /* unresolved stage rows */
#define NOTIFY_MAX_APPROVERS   25   /* approvers (links) in one message */
#define NOTIFY_MAX_TEXT        2900 /* characters of one chat text block */
#define PRUNE_BATCH            500  /* rows deleted per prune step */

/* Retention (retention.c). A batch of 200 takes about 20 ms, at most 80 ms
 * on a loaded machine (bench/retention_bench.c); the gap between batches
 * leaves the loop to decisions while a backlog drains. */
#define RETENTION_BATCH   200 /* settled requests deleted per transaction */
#define RETENTION_FIRST_S 60  /* first run after start */
#define RETENTION_IDLE_S  300 /* between runs when nothing is left */
#define RETENTION_MORE_MS 100 /* between runs while there is more */

/* Decision links (links.c) */
#define LINK_MAX_TOKEN  1024       /* characters of a token */
#define LINK_MIN_SECRET 32         /* bytes of the signing key */
#define LINK_MAX_REASON 1000       /* characters of an approver's reason */
#define LINK_MAX_FORM   (8 * 1024) /* bytes of a POSTed form */

/* Shutdown */
#define DRAIN_TIMEOUT 10 /* seconds for in-flight actions */

#endif
