/*
 * Private interfaces shared by the files of config/ (not installed, not
 * part of the contract in config.h).
 */
#ifndef CONFIG_INTERNAL_H
#define CONFIG_INTERNAL_H

#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* ---- diagnostics (diag.c) ---- */

#if defined(__GNUC__)
#define CFG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CFG_PRINTF(a, b)
#endif

void cfg_diag_add(struct cfg_diags *d, enum cfg_severity sev, const char *file,
    unsigned line, unsigned col, const char *fmt, ...) CFG_PRINTF(6, 7);
void cfg_diag_vadd(struct cfg_diags *d, enum cfg_severity sev, const char *file,
    unsigned line, unsigned col, const char *fmt, va_list ap) CFG_PRINTF(6, 0);
/* Sort entries [from, n) by (line, col), keeping insertion order for ties. */
void cfg_diags_sort(struct cfg_diags *d, size_t from);
/* Edit distance (Levenshtein) between two short strings. */
size_t cfg_edit_distance(const char *a, const char *b);

/* ---- YAML documents (yaml.c) ---- */

enum ynode_type { YN_SCALAR = 0, YN_SEQ, YN_MAP };

struct ynode {
	enum ynode_type type;
	unsigned line, col;
	char *str;        /* scalar value */
	int plain;        /* unquoted scalar */
	size_t n;         /* seq: items; map: pairs */
	struct ynode **v; /* seq: v[i]; map: key v[2i], value v[2i+1] */
	size_t count;     /* nodes in this subtree, aliases expanded */
	unsigned depth;   /* height of this subtree */
	struct ynode *next_alloc;
};

struct ydoc {
	const char *file;
	struct ynode *root; /* NULL for an empty document */
	struct ynode *all;  /* allocation list */
};

/* Parse one YAML document; 0 or -1 with errors in diags. */
int ydoc_load(struct ydoc *doc, const char *file, const char *buf, size_t len,
    struct cfg_diags *diags);
void ydoc_free(struct ydoc *doc);
/* Read a whole file (bounded by CFG_MAX_FILE_SIZE) into a heap buffer. */
int cfg_read_file(
    const char *path, char **buf, size_t *len, struct cfg_diags *diags);

/* Schema-checking helpers. */
enum ytype {
	YT_ANY = 0,
	YT_STR,
	YT_BOOL,
	YT_INT,
	YT_DUR,
	YT_MAP,
	YT_SEQ,
	YT_STR_OR_SEQ,
	YT_STR_OR_MAP
};

struct ykey {
	const char *name;
	enum ytype type;
};

struct yctx {
	const char *file;
	struct cfg_diags *diags;
};

void yerr(struct yctx *c, const struct ynode *n, const char *fmt, ...)
    CFG_PRINTF(3, 4);
void ywarn(struct yctx *c, const struct ynode *n, const char *fmt, ...)
    CFG_PRINTF(3, 4);
const char *ytype_name(enum ytype t);
/* Check a mapping's keys against `keys` (NULL-terminated) and value types. */
int ycheck_map(
    struct yctx *c, const struct ynode *map, const struct ykey *keys);
const struct ynode *ymap_get(const struct ynode *map, const char *key);
int yis_type(const struct ynode *n, enum ytype t);
/* Scalar conversions; report and return -1 on a bad value. */
int yget_bool(struct yctx *c, const struct ynode *n, int *out);
int yget_int(struct yctx *c, const struct ynode *n, long long min,
    long long max, long long *out);
int yget_dur(struct yctx *c, const struct ynode *n, int64_t *out);
/* Suggest the closest of `names` to `s`, or NULL. */
const char *ysuggest(const char *s, const char *const *names, size_t n);

/* ---- glob matching (eval.c) ---- */

enum glob_kind { GLOB_EXACT = 0, GLOB_PREFIX, GLOB_ANY, GLOB_GENERAL };

struct glob {
	const char *pat; /* owned by the policy */
	size_t len;      /* EXACT: len of pat; PREFIX: len before '*' */
	enum glob_kind kind;
};

int cfg_glob_match(const char *pat, const char *s, int icase);
void cfg_glob_compile(struct glob *g, const char *pat);
int cfg_glob_test(const struct glob *g, const char *s, size_t slen, int icase);

/* ---- time zones (tz.c) ---- */

struct cfg_tz;
/* Load an IANA zone from /usr/share/zoneinfo; NULL with *err set. */
struct cfg_tz *cfg_tz_load(const char *name, const char **err);
void cfg_tz_free(struct cfg_tz *tz);
/* UTC offset in seconds in zone `tz` at instant `t`. */
int32_t cfg_tz_offset(const struct cfg_tz *tz, int64_t t);

/* ---- small helpers ---- */

char *cfg_strdup(const char *s);
char *cfg_asprintf(const char *fmt, ...) CFG_PRINTF(1, 2);
/* Format seconds as an ISO-8601 duration (P1DT2H...), static-free. */
void cfg_format_duration(int64_t s, char *buf, size_t len);

/* growable string buffer */
struct sbuf {
	char *s;
	size_t n, cap;
	int oom;
};
void sb_add(struct sbuf *b, const char *s);
void sb_addn(struct sbuf *b, const char *s, size_t n);
void sb_printf(struct sbuf *b, const char *fmt, ...) CFG_PRINTF(2, 3);
/* YAML-quote a scalar when needed. */
void sb_yaml_str(struct sbuf *b, const char *s);
char *sb_finish(struct sbuf *b);

#endif
