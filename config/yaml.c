/*
 * YAML loading for config/: libyaml events into a small node tree that
 * keeps line:col, with duplicate-key detection, alias-expansion and depth
 * limits, plus the schema-checking helpers used by policy.c and settings.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "internal.h"

struct anchor {
	char *name;
	struct ynode *node;
};

struct frame {
	struct ynode *node;
	size_t len, cap; /* raw children: keys and values interleaved */
	char *anchor;
};

struct loader {
	struct ydoc *doc;
	struct cfg_diags *diags;
	struct frame stack[CFG_MAX_DEPTH + 1];
	size_t depth;
	struct anchor *anchors;
	size_t nanchors, capanchors;
	size_t total;
	int failed;
};

static void lerr(struct loader *l, unsigned line, unsigned col, const char *fmt,
    ...) CFG_PRINTF(4, 5);

static void
lerr(struct loader *l, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_diag_vadd(l->diags, CFG_ERROR, l->doc->file, line, col, fmt, ap);
	va_end(ap);
	l->failed = 1;
}

static struct ynode *
lnode(struct loader *l, enum ynode_type t, const yaml_mark_t *m)
{
	struct ynode *n = calloc(1, sizeof(*n));

	if (n == NULL) {
		lerr(l, 0, 0, "out of memory");
		return NULL;
	}
	n->type = t;
	n->line = (unsigned)m->line + 1;
	n->col = (unsigned)m->column + 1;
	n->count = 1;
	n->depth = 1;
	n->next_alloc = l->doc->all;
	l->doc->all = n;
	return n;
}

static int
lanchor(struct loader *l, const char *name, struct ynode *n)
{
	struct anchor *na;
	size_t i;

	for (i = 0; i < l->nanchors; i++)
		if (strcmp(l->anchors[i].name, name) == 0) {
			l->anchors[i].node = n; /* a redefined anchor wins */
			return 0;
		}
	if (l->nanchors == l->capanchors) {
		size_t cap = l->capanchors ? l->capanchors * 2 : 8;

		if ((na = realloc(l->anchors, cap * sizeof(*na))) == NULL)
			return -1;
		l->anchors = na;
		l->capanchors = cap;
	}
	if ((l->anchors[l->nanchors].name = strdup(name)) == NULL)
		return -1;
	l->anchors[l->nanchors++].node = n;
	return 0;
}

/* Attach a finished node to the current container (or make it the root). */
static int
lattach(struct loader *l, struct ynode *n, const char *anchor)
{
	struct frame *f;
	struct ynode *p, **nv;
	size_t i;

	if (anchor != NULL && lanchor(l, anchor, n) < 0) {
		lerr(l, 0, 0, "out of memory");
		return -1;
	}
	if (l->depth == 0) {
		if (l->doc->root != NULL) {
			lerr(l, n->line, n->col, "unexpected node");
			return -1;
		}
		l->doc->root = n;
		return 0;
	}
	f = &l->stack[l->depth - 1];
	p = f->node;
	if (p->type == YN_MAP && f->len % 2 == 0) {
		if (n->type != YN_SCALAR) {
			lerr(
			    l, n->line, n->col, "mapping keys must be scalars");
			return -1;
		}
		for (i = 0; i < f->len; i += 2)
			if (strcmp(p->v[i]->str, n->str) == 0) {
				lerr(l, n->line, n->col,
				    "duplicate key `%s` (first at %u:%u)",
				    n->str, p->v[i]->line, p->v[i]->col);
				return -1;
			}
	}
	if (f->len == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;

		if ((nv = realloc(p->v, cap * sizeof(*nv))) == NULL) {
			lerr(l, 0, 0, "out of memory");
			return -1;
		}
		p->v = nv;
		f->cap = cap;
	}
	p->v[f->len++] = n;
	return 0;
}

static int
lpush(struct loader *l, enum ynode_type t, const yaml_mark_t *m,
    const char *anchor)
{
	struct ynode *n;

	if (l->depth >= CFG_MAX_DEPTH) {
		lerr(l, (unsigned)m->line + 1, (unsigned)m->column + 1,
		    "document nested deeper than %d levels", CFG_MAX_DEPTH);
		return -1;
	}
	if (++l->total > CFG_MAX_NODES) {
		lerr(l, (unsigned)m->line + 1, (unsigned)m->column + 1,
		    "document has more than %d nodes", CFG_MAX_NODES);
		return -1;
	}
	if ((n = lnode(l, t, m)) == NULL)
		return -1;
	l->stack[l->depth].node = n;
	l->stack[l->depth].len = 0;
	l->stack[l->depth].cap = 0;
	l->stack[l->depth].anchor = anchor ? strdup(anchor) : NULL;
	l->depth++;
	return 0;
}

static int
lpop(struct loader *l)
{
	struct frame *f = &l->stack[--l->depth];
	struct ynode *n = f->node;
	size_t i;
	int rc;

	n->n = n->type == YN_MAP ? f->len / 2 : f->len;
	for (i = 0; i < f->len; i++) {
		n->count += n->v[i]->count;
		if (n->count > CFG_MAX_NODES + 1)
			n->count = CFG_MAX_NODES + 1;
		if (n->v[i]->depth + 1 > n->depth)
			n->depth = n->v[i]->depth + 1;
	}
	/* The analyzer loses stack[depth] between lpush and here (a symbolic
	 * index) and calls the anchor lost; it is freed just below. */
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
	rc = lattach(l, n, f->anchor);
	free(f->anchor);
	f->anchor = NULL;
	return rc;
}

static int
lalias(struct loader *l, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	const yaml_mark_t *m = &ev->start_mark;
	struct ynode *t = NULL;
	size_t i;

	for (i = 0; i < l->nanchors; i++)
		if (strcmp(l->anchors[i].name, name) == 0)
			t = l->anchors[i].node;
	if (t == NULL) {
		lerr(l, (unsigned)m->line + 1, (unsigned)m->column + 1,
		    "undefined alias `%s`", name);
		return -1;
	}
	l->total += t->count;
	if (l->total > CFG_MAX_NODES) {
		lerr(l, (unsigned)m->line + 1, (unsigned)m->column + 1,
		    "alias expansion exceeds %d nodes", CFG_MAX_NODES);
		return -1;
	}
	if (l->depth + t->depth > CFG_MAX_DEPTH) {
		lerr(l, (unsigned)m->line + 1, (unsigned)m->column + 1,
		    "document nested deeper than %d levels", CFG_MAX_DEPTH);
		return -1;
	}
	return lattach(l, t, NULL);
}

static int
lscalar(struct loader *l, const yaml_event_t *ev)
{
	struct ynode *n;

	if (++l->total > CFG_MAX_NODES) {
		lerr(l, (unsigned)ev->start_mark.line + 1,
		    (unsigned)ev->start_mark.column + 1,
		    "document has more than %d nodes", CFG_MAX_NODES);
		return -1;
	}
	if ((n = lnode(l, YN_SCALAR, &ev->start_mark)) == NULL)
		return -1;
	n->str = malloc(ev->data.scalar.length + 1);
	if (n->str == NULL) {
		lerr(l, 0, 0, "out of memory");
		return -1;
	}
	memcpy(n->str, ev->data.scalar.value, ev->data.scalar.length);
	n->str[ev->data.scalar.length] = '\0';
	if (strlen(n->str) != ev->data.scalar.length) {
		lerr(l, n->line, n->col, "NUL byte in scalar");
		return -1;
	}
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	           ev->data.scalar.tag == NULL;
	return lattach(l, n, (const char *)ev->data.scalar.anchor);
}

/* Parse one YAML document from buf into doc. */
int
ydoc_load(struct ydoc *doc, const char *file, const char *buf, size_t len,
    struct cfg_diags *diags)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct loader l;
	int done = 0, ndocs = 0, rc = -1;
	size_t i;

	memset(doc, 0, sizeof(*doc));
	doc->file = file;
	memset(&l, 0, sizeof(l));
	l.doc = doc;
	l.diags = diags;
	if (len > CFG_MAX_FILE_SIZE) {
		lerr(&l, 0, 0, "file is larger than %d bytes",
		    CFG_MAX_FILE_SIZE);
		return -1;
	}
	if (!yaml_parser_initialize(&parser)) {
		lerr(&l, 0, 0, "cannot initialise the YAML parser");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done && !l.failed) {
		if (!yaml_parser_parse(&parser, &ev)) {
			lerr(&l, (unsigned)parser.problem_mark.line + 1,
			    (unsigned)parser.problem_mark.column + 1,
			    "YAML syntax error: %s%s%s",
			    parser.problem ? parser.problem : "unknown",
			    parser.context ? " " : "",
			    parser.context ? parser.context : "");
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++ndocs > 1)
				lerr(&l, (unsigned)ev.start_mark.line + 1,
				    (unsigned)ev.start_mark.column + 1,
				    "only one YAML document is allowed");
			break;
		case YAML_SEQUENCE_START_EVENT:
			lpush(&l, YN_SEQ, &ev.start_mark,
			    (const char *)ev.data.sequence_start.anchor);
			break;
		case YAML_MAPPING_START_EVENT:
			lpush(&l, YN_MAP, &ev.start_mark,
			    (const char *)ev.data.mapping_start.anchor);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (l.depth > 0)
				lpop(&l);
			break;
		case YAML_SCALAR_EVENT:
			lscalar(&l, &ev);
			break;
		case YAML_ALIAS_EVENT:
			lalias(&l, &ev);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	for (i = 0; i < l.depth; i++)
		free(l.stack[i].anchor);
	for (i = 0; i < l.nanchors; i++)
		free(l.anchors[i].name);
	free(l.anchors);
	if (!l.failed)
		rc = 0;
	else
		ydoc_free(doc);
	return rc;
}

void
ydoc_free(struct ydoc *doc)
{
	struct ynode *n, *next;

	if (doc == NULL)
		return;
	for (n = doc->all; n != NULL; n = next) {
		next = n->next_alloc;
		free(n->str);
		free(n->v);
		free(n);
	}
	doc->all = NULL;
	doc->root = NULL;
}

/* Read a regular file of at most CFG_MAX_FILE_SIZE bytes. */
int
cfg_read_file(
    const char *path, char **bufp, size_t *lenp, struct cfg_diags *diags)
{
	struct stat st;
	char *buf = NULL;
	size_t off = 0;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		cfg_diag_add(diags, CFG_ERROR, path, 0, 0, "cannot open: %s",
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		cfg_diag_add(
		    diags, CFG_ERROR, path, 0, 0, "not a regular file");
		goto fail;
	}
	if (st.st_size > CFG_MAX_FILE_SIZE) {
		cfg_diag_add(diags, CFG_ERROR, path, 0, 0,
		    "file is larger than %d bytes", CFG_MAX_FILE_SIZE);
		goto fail;
	}
	if ((buf = malloc(CFG_MAX_FILE_SIZE + 2)) == NULL) {
		cfg_diag_add(diags, CFG_ERROR, path, 0, 0, "out of memory");
		goto fail;
	}
	while (off <= CFG_MAX_FILE_SIZE) {
		r = read(fd, buf + off, CFG_MAX_FILE_SIZE + 1 - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cfg_diag_add(diags, CFG_ERROR, path, 0, 0, "read: %s",
			    strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		off += (size_t)r;
	}
	if (off > CFG_MAX_FILE_SIZE) {
		cfg_diag_add(diags, CFG_ERROR, path, 0, 0,
		    "file is larger than %d bytes", CFG_MAX_FILE_SIZE);
		goto fail;
	}
	buf[off] = '\0';
	close(fd);
	*bufp = buf;
	*lenp = off;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}

/* ---- schema helpers ---- */

void
yerr(struct yctx *c, const struct ynode *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_diag_vadd(c->diags, CFG_ERROR, c->file, n ? n->line : 0,
	    n ? n->col : 0, fmt, ap);
	va_end(ap);
}

void
ywarn(struct yctx *c, const struct ynode *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_diag_vadd(c->diags, CFG_WARNING, c->file, n ? n->line : 0,
	    n ? n->col : 0, fmt, ap);
	va_end(ap);
}

const char *
ytype_name(enum ytype t)
{
	static const char *const names[] = {
		[YT_ANY] = "value",
		[YT_STR] = "string",
		[YT_BOOL] = "boolean (true or false)",
		[YT_INT] = "integer",
		[YT_DUR] = "ISO-8601 duration",
		[YT_MAP] = "mapping",
		[YT_SEQ] = "list",
		[YT_STR_OR_SEQ] = "string or list of strings",
		[YT_STR_OR_MAP] = "string or mapping",
	};
	return names[t];
}

static int
yis_null(const struct ynode *n)
{
	return n->type == YN_SCALAR && n->plain &&
	       (n->str[0] == '\0' || strcmp(n->str, "~") == 0 ||
	           strcmp(n->str, "null") == 0);
}

/* Whether n has the shape of type t (values are checked by yget_*). */
int
yis_type(const struct ynode *n, enum ytype t)
{
	switch (t) {
	case YT_ANY:
		return 1;
	case YT_STR:
	case YT_BOOL:
	case YT_INT:
	case YT_DUR:
		return n->type == YN_SCALAR && !yis_null(n);
	case YT_MAP:
		return n->type == YN_MAP;
	case YT_SEQ:
		return n->type == YN_SEQ;
	case YT_STR_OR_SEQ:
		return (n->type == YN_SCALAR && !yis_null(n)) ||
		       n->type == YN_SEQ;
	case YT_STR_OR_MAP:
		return (n->type == YN_SCALAR && !yis_null(n)) ||
		       n->type == YN_MAP;
	}
	return 0;
}

const struct ynode *
ymap_get(const struct ynode *map, const char *key)
{
	size_t i;

	if (map == NULL || map->type != YN_MAP)
		return NULL;
	for (i = 0; i < map->n; i++)
		if (strcmp(map->v[2 * i]->str, key) == 0)
			return map->v[2 * i + 1];
	return NULL;
}

/* Report unknown keys (with a suggestion) and values of the wrong shape. */
int
ycheck_map(struct yctx *c, const struct ynode *map, const struct ykey *keys)
{
	const char *names[64];
	size_t nk = 0, i, j;
	int errs = 0;

	if (map->type != YN_MAP) {
		yerr(c, map, "expected a mapping");
		return 1;
	}
	for (j = 0; keys[j].name != NULL && nk < 64; j++)
		names[nk++] = keys[j].name;
	for (i = 0; i < map->n; i++) {
		const struct ynode *k = map->v[2 * i], *v = map->v[2 * i + 1];
		const char *s;

		for (j = 0; keys[j].name != NULL; j++)
			if (strcmp(keys[j].name, k->str) == 0)
				break;
		if (keys[j].name == NULL) {
			s = ysuggest(k->str, names, nk);
			if (s != NULL)
				yerr(c, k,
				    "unknown key `%s`; did you mean `%s`?",
				    k->str, s);
			else
				yerr(c, k, "unknown key `%s`", k->str);
			errs++;
			continue;
		}
		if (!yis_type(v, keys[j].type)) {
			yerr(c, v, "`%s` must be a %s", k->str,
			    ytype_name(keys[j].type));
			errs++;
		}
	}
	return errs;
}

int
yget_bool(struct yctx *c, const struct ynode *n, int *out)
{
	if (n->type == YN_SCALAR && n->plain) {
		if (strcmp(n->str, "true") == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(n->str, "false") == 0) {
			*out = 0;
			return 0;
		}
	}
	yerr(c, n, "expected true or false");
	return -1;
}

int
yget_int(struct yctx *c, const struct ynode *n, long long min, long long max,
    long long *out)
{
	char *end;
	long long v;

	if (n->type != YN_SCALAR || !n->plain || n->str[0] == '\0')
		goto bad;
	errno = 0;
	v = strtoll(n->str, &end, 10);
	if (errno != 0 || *end != '\0')
		goto bad;
	if (v < min || v > max) {
		yerr(c, n, "%lld is out of range (%lld..%lld)", v, min, max);
		return -1;
	}
	*out = v;
	return 0;
bad:
	yerr(c, n, "expected an integer");
	return -1;
}

int
yget_dur(struct yctx *c, const struct ynode *n, int64_t *out)
{
	int64_t v;

	if (n->type != YN_SCALAR || (v = cfg_parse_duration(n->str)) < 0) {
		yerr(c, n, "bad ISO-8601 duration `%s` (e.g. PT4H, P1D)",
		    n->type == YN_SCALAR ? n->str : "");
		return -1;
	}
	*out = v;
	return 0;
}
