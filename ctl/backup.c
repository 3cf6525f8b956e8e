/*
 * approvalctl backup --state DB OUT: a consistent copy of a state database,
 * safe while approvald writes to it, through SQLite's online backup API
 * (https://www.sqlite.org/backup.html, https://www.sqlite.org/c3ref/backup_finish.html).
 * All pages are copied in one step, inside one read transaction of the
 * source, so the copy is one committed state of it; the daemon's writers
 * are never blocked in WAL mode. Restore: stop approvald, put the copy in
 * place of the state file (owner approvald, mode 0600), remove the old
 * -wal and -shm files, start approvald, run `approvalctl audit verify`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ctl.h"

#define BACKUP_BUSY_TIMEOUT_MS 5000 /* waiting for the source's lock */
#define BACKUP_BUSY_TRIES      100  /* steps retried while it is busy */
#define BACKUP_BUSY_SLEEP_MS   50

/* Create OUT empty, 0600, refusing an existing file or a symlink. */
static int
backup_create(const char *out)
{
	int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);

	if (fd == -1) {
		fprintf(stderr, "approvalctl: backup: %s: %s\n", out,
		    strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/* Copy src into dst in one step; 0 or -1 with the reason printed. */
static int
backup_copy(sqlite3 *src, sqlite3 *dst)
{
	sqlite3_backup *b;
	int rc, tries = 0;

	if ((b = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		fprintf(
		    stderr, "approvalctl: backup: %s\n", sqlite3_errmsg(dst));
		return -1;
	}
	do {
		rc = sqlite3_backup_step(b, -1);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(BACKUP_BUSY_SLEEP_MS);
	} while ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) &&
	         ++tries < BACKUP_BUSY_TRIES);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		fprintf(
		    stderr, "approvalctl: backup: %s\n", sqlite3_errstr(rc));
		return -1;
	}
	if (sqlite3_errcode(dst) != SQLITE_OK) {
		fprintf(
		    stderr, "approvalctl: backup: %s\n", sqlite3_errmsg(dst));
		return -1;
	}
	return 0;
}

/* PRAGMA integrity_check on the copy: 0 when it answers "ok". */
static int
backup_verify(sqlite3 *dst)
{
	sqlite3_stmt *st = NULL;
	int ok = 0;

	if (sqlite3_prepare_v2(dst, "PRAGMA integrity_check", -1, &st, NULL) ==
	        SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		ok =
		    strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
	if (!ok)
		fprintf(stderr, "approvalctl: backup: integrity check: %s\n",
		    st ? (const char *)sqlite3_column_text(st, 0) : "failed");
	sqlite3_finalize(st);
	return ok ? 0 : -1;
}

int
ctl_backup(int argc, char **argv)
{
	const char *state = NULL, *out = NULL;
	sqlite3 *src = NULL, *dst = NULL;
	int i, rc = CTL_EXIT_FAIL;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
			state = argv[++i];
		else if (argv[i][0] != '-' && out == NULL)
			out = argv[i];
		else
			goto usage;
	}
	if (state == NULL || out == NULL)
		goto usage;
	if (sqlite3_open_v2(state, &src, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, "approvalctl: backup: %s: %s\n", state,
		    sqlite3_errmsg(src));
		goto out;
	}
	sqlite3_busy_timeout(src, BACKUP_BUSY_TIMEOUT_MS);
	if (backup_create(out) == -1)
		goto out;
	if (sqlite3_open_v2(out, &dst, SQLITE_OPEN_READWRITE, NULL) !=
	        SQLITE_OK ||
	    backup_copy(src, dst) == -1 || backup_verify(dst) == -1) {
		if (dst != NULL && sqlite3_errcode(dst) != SQLITE_OK)
			fprintf(stderr, "approvalctl: backup: %s: %s\n", out,
			    sqlite3_errmsg(dst));
		sqlite3_close(dst);
		dst = NULL;
		unlink(out);
		goto out;
	}
	printf("backup: %s -> %s\n", state, out);
	rc = CTL_EXIT_OK;
out:
	sqlite3_close(dst);
	sqlite3_close(src);
	return rc;
usage:
	return CTL_EXIT_USAGE;
}
