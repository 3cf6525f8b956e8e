/* Diagnostics lists, string buffers and small helpers for config/. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Duplicate a string; NULL in, NULL out. */
char *
cfg_strdup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

/* Heap-formatted string or NULL on allocation failure. */
char *
cfg_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

void
cfg_diag_vadd(struct cfg_diags *d, enum cfg_severity sev, const char *file,
    unsigned line, unsigned col, const char *fmt, va_list ap)
{
	struct cfg_diag *nv;
	char *msg;

	if (d == NULL)
		return;
	if (sev == CFG_ERROR)
		d->nerrors++;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;

		if ((nv = realloc(d->v, cap * sizeof(*nv))) == NULL)
			return;
		d->v = nv;
		d->cap = cap;
	}
	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	d->v[d->n].severity = sev;
	d->v[d->n].file = cfg_strdup(file);
	d->v[d->n].line = line;
	d->v[d->n].col = col;
	d->v[d->n].message = msg;
	d->n++;
}

/* Append one diagnostic; nerrors counts errors even if allocation fails. */
void
cfg_diag_add(struct cfg_diags *d, enum cfg_severity sev, const char *file,
    unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_diag_vadd(d, sev, file, line, col, fmt, ap);
	va_end(ap);
}

void
cfg_diags_free(struct cfg_diags *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].message);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

/* Stable insertion sort by position (lists are short). */
void
cfg_diags_sort(struct cfg_diags *d, size_t from)
{
	size_t i, j;
	struct cfg_diag t;

	for (i = from + 1; i < d->n; i++) {
		t = d->v[i];
		for (j = i; j > from; j--) {
			const struct cfg_diag *p = &d->v[j - 1];

			if (p->line < t.line ||
			    (p->line == t.line && p->col <= t.col))
				break;
			d->v[j] = d->v[j - 1];
		}
		d->v[j] = t;
	}
}

int
cfg_diag_format(const struct cfg_diag *d, char *buf, size_t len)
{
	const char *sev = d->severity == CFG_ERROR ? "error" : "warning";
	const char *file = d->file ? d->file : "<input>";

	if (d->line == 0)
		return snprintf(buf, len, "%s: %s: %s", file, sev, d->message);
	return snprintf(buf, len, "%s:%u:%u: %s: %s", file, d->line, d->col,
	    sev, d->message);
}

size_t
cfg_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[64], prev, tmp;

	if (la >= 63 || lb >= 63)
		return (size_t)-1;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t best = prev + (a[i - 1] != b[j - 1]);

			tmp = row[j];
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

/* Closest name within a distance of about a third of its length. */
const char *
ysuggest(const char *s, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t bestd = (size_t)-1, i, lim;

	for (i = 0; i < n; i++) {
		size_t d = cfg_edit_distance(s, names[i]);

		if (d < bestd) {
			bestd = d;
			best = names[i];
		}
	}
	lim = strlen(s) / 3 + 1;
	if (lim > 3)
		lim = 3;
	return bestd <= lim ? best : NULL;
}

static void
sb_grow(struct sbuf *b, size_t extra)
{
	char *ns;
	size_t cap;

	if (b->oom || b->n + extra + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 256;
	while (cap < b->n + extra + 1)
		cap *= 2;
	if ((ns = realloc(b->s, cap)) == NULL) {
		b->oom = 1;
		return;
	}
	b->s = ns;
	b->cap = cap;
}

void
sb_addn(struct sbuf *b, const char *s, size_t n)
{
	sb_grow(b, n);
	if (b->oom)
		return;
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

void
sb_add(struct sbuf *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		b->oom = 1;
		s = NULL;
	}
	va_end(ap);
	if (s != NULL) {
		sb_add(b, s);
		free(s);
	}
}

/* Quote a scalar with double quotes unless it is plainly safe. */
void
sb_yaml_str(struct sbuf *b, const char *s)
{
	const char *p;
	int safe = *s != '\0';

	for (p = s; *p && safe; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		        (*p >= '0' && *p <= '9') ||
		        strchr("_-./@+", *p) != NULL))
			safe = 0;
	if (safe && strchr("-.", s[0]) == NULL &&
	    !(s[0] >= '0' && s[0] <= '9') && strcmp(s, "true") != 0 &&
	    strcmp(s, "false") != 0 && strcmp(s, "null") != 0 &&
	    strcmp(s, "yes") != 0 && strcmp(s, "no") != 0) {
		sb_add(b, s);
		return;
	}
	sb_add(b, "\"");
	for (p = s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			char e[3] = { '\\', *p, 0 };

			sb_add(b, e);
		} else if ((unsigned char)*p < 0x20) {
			sb_printf(b, "\\x%02x", (unsigned char)*p);
		} else {
			sb_addn(b, p, 1);
		}
	}
	sb_add(b, "\"");
}

/* Return the buffer (never NULL unless out of memory) and reset b. */
char *
sb_finish(struct sbuf *b)
{
	char *s;

	if (b->oom) {
		free(b->s);
		memset(b, 0, sizeof(*b));
		return NULL;
	}
	if (b->s == NULL)
		return strdup("");
	s = b->s;
	memset(b, 0, sizeof(*b));
	return s;
}
