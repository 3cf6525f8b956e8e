/*
 * mangen: expand a man page template's key markers from the parser's own
 * schema tables, and report drift between the two.
 *
 *   mangen settings|policy TEMPLATE OUT [--strict]
 *
 * A template line `.\" @key PATH` becomes the list item of PATH with its
 * type and default as config/ knows them. A marker naming no key, a key
 * named twice, and a key of the schema with no marker are drift: reported
 * always, fatal (exit 1) with --strict, which the `man.*-keys` tests use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define MANGEN_MAX_KEYS 512
#define MANGEN_LINE_MAX 4096
#define MANGEN_MARK     ".\\\" @key "

struct mangen {
	struct cfg_key keys[MANGEN_MAX_KEYS];
	unsigned char seen[MANGEN_MAX_KEYS];
	size_t n;
	int drift;
};

/* Load every key of the chosen schema; -1 when the schema is unknown. */
static int
mangen_load(struct mangen *m, const char *which)
{
	int (*at)(size_t, struct cfg_key *);

	if (strcmp(which, "settings") == 0)
		at = settings_key_at;
	else if (strcmp(which, "policy") == 0)
		at = policy_key_at;
	else
		return -1;
	while (m->n < MANGEN_MAX_KEYS && at(m->n, &m->keys[m->n]))
		m->n++;
	return 0;
}

/* Write the list item of key k. */
static void
mangen_item(FILE *out, const struct cfg_key *k)
{
	fprintf(out, ".It Ic %s\n", k->path);
	fprintf(out, "Type: %s.\n", k->type);
	if (k->def != NULL)
		fprintf(out, "Default:\n.Ql %s .\n", k->def);
}

/* Expand one marker line (PATH without its newline). */
static void
mangen_marker(struct mangen *m, FILE *out, const char *tmpl, size_t line,
    const char *path)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->keys[i].path, path) == 0)
			break;
	if (i == m->n) {
		fprintf(stderr,
		    "%s:%zu: `%s` is in the manual but not in the schema "
		    "tables of config/: remove it or add the key\n",
		    tmpl, line, path);
		m->drift = 1;
		return;
	}
	if (m->seen[i]++) {
		fprintf(stderr, "%s:%zu: `%s` is documented twice\n", tmpl,
		    line, path);
		m->drift = 1;
		return;
	}
	mangen_item(out, &m->keys[i]);
}

int
main(int argc, char *argv[])
{
	static struct mangen m;
	char buf[MANGEN_LINE_MAX];
	FILE *in, *out;
	size_t line = 0, i, ml = strlen(MANGEN_MARK);
	int strict = argc == 5 && strcmp(argv[4], "--strict") == 0;

	if ((argc != 4 && !strict) || mangen_load(&m, argv[1]) == -1) {
		fprintf(stderr,
		    "usage: mangen settings|policy TEMPLATE OUT [--strict]\n");
		return 2;
	}
	if ((in = fopen(argv[2], "r")) == NULL) {
		perror(argv[2]);
		return 2;
	}
	if ((out = fopen(argv[3], "w")) == NULL) {
		perror(argv[3]);
		fclose(in);
		return 2;
	}
	while (fgets(buf, sizeof(buf), in) != NULL) {
		line++;
		if (strncmp(buf, MANGEN_MARK, ml) != 0) {
			fputs(buf, out);
			continue;
		}
		buf[strcspn(buf, "\n")] = '\0';
		mangen_marker(&m, out, argv[2], line, buf + ml);
	}
	for (i = 0; i < m.n; i++)
		if (!m.seen[i]) {
			fprintf(stderr,
			    "%s: `%s` (%s) is in config/ but not in the "
			    "manual: add a `.\\\" @key %s` line and a "
			    "sentence\n",
			    argv[2], m.keys[i].path, m.keys[i].type,
			    m.keys[i].path);
			m.drift = 1;
		}
	fclose(in);
	if (fclose(out) != 0) {
		perror(argv[3]);
		return 2;
	}
	return strict && m.drift ? 1 : 0;
}
