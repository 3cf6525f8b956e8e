/*
 * Inside the store room only (and the tests that damage a database on
 * purpose): the SQLite handle and the statement cache. Everything else
 * reaches the tables through the named functions of store.h; the store is
 * the only code that writes SQL (tests/style/sql-in-store.sh).
 */
#ifndef STORE_SQL_H
#define STORE_SQL_H

#include "store.h"

struct sqlite3;
struct sqlite3_stmt;
/* The SQLite handle, owned by the store. */
struct sqlite3 *store_db(struct store *s);
/* A cached prepared statement for the constant `sql`, reset; the store
 * owns it (do not finalize). NULL on error. */
struct sqlite3_stmt *store_cached(struct store *s, const char *sql);

#endif
