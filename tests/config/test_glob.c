/*
 * Glob algebra (config/glob.c): hand-written cases, a property test against
 * brute-force references, the fail-closed budgets and a rough timing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg_glob.h"
#include "tests.h"

/* ---- independent reference matcher ---- */

static int
ref_eq(unsigned char p, unsigned char c, int icase)
{
	if (icase) {
		if (p >= 'A' && p <= 'Z')
			p = (unsigned char)(p - 'A' + 'a');
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
	}
	return p == c;
}

/* Plain recursion on the definition; exponential, fine for short input. */
static int
ref_match(const char *p, const char *s, int icase)
{
	if (*p == '\0')
		return *s == '\0';
	if (*p == '*')
		return ref_match(p + 1, s, icase) ||
		       (*s != '\0' && ref_match(p, s + 1, icase));
	if (*s == '\0')
		return 0;
	if (*p == '?' || ref_eq((unsigned char)*p, (unsigned char)*s, icase))
		return ref_match(p + 1, s + 1, icase);
	return 0;
}

/* ---- hand-written cases ---- */

struct ov_case {
	const char *a, *b;
	int icase, want;
};

static const struct ov_case ov_cases[] = {
	{ "s3:De*", "s3:Delete*", 1, 1 },
	{ "s3:De*", "s3:Delete*", 0, 1 },
	{ "s3:*", "s3:Delete*", 0, 1 },
	{ "S3:DeleteBucket", "s3:delete*", 1, 1 },
	{ "S3:DeleteBucket", "s3:delete*", 0, 0 },
	{ "s3:Delet?Bucket", "s3:Delete*", 0, 1 },
	{ "s3:Get*", "s3:Put*", 0, 0 },
	{ "s3:Get*", "s3:*Object", 0, 1 },
	{ "ec2:*Instances", "ec2:Describe*", 0, 1 },
	{ "*a*b*", "*b*a*", 0, 1 },
	{ "*", "", 0, 1 },
	{ "**", "", 0, 1 },
	{ "", "", 0, 1 },
	{ "?", "", 0, 0 },
	{ "?*", "", 0, 0 },
	{ "*?*?*", "?", 0, 0 },
	{ "*?*?*", "??", 0, 1 },
	{ "a*", "*b", 0, 1 },
	{ "a", "*b", 0, 0 },
	{ "a?", "?b", 0, 1 },
	{ "ab", "a??", 0, 0 },
	{ "*x", "x*y", 0, 0 },
	{ "aaaa*", "*bbbb", 0, 1 }, /* shortest common string: aaaabbbb */
	{ "a*a*a", "*b*", 0, 1 },
	{ "a*a", "b*", 1, 0 },
	{ "A*", "a*", 0, 0 },
	{ "A*", "a*", 1, 1 },
	/* Only ASCII letters fold: U+00E9 vs U+00C9 in UTF-8. */
	{ "\xc3\xa9*", "\xc3\x89*", 1, 0 },
	{ "\xc3\xa9*", "\xc3?", 1, 1 },
};

static void
test_overlap_cases(void)
{
	size_t i;
	int g1, g2, e1;

	for (i = 0; i < sizeof(ov_cases) / sizeof(ov_cases[0]); i++) {
		const struct ov_case *c = &ov_cases[i];

		g1 = cfg_glob_overlap(c->a, c->b, c->icase);
		g2 = cfg_glob_overlap(c->b, c->a, c->icase);
		e1 = cfg_glob_overlap_ex(c->a, c->b, c->icase);
		if (g1 != c->want || g2 != c->want || e1 != c->want)
			fprintf(stderr,
			    "overlap(%s, %s, icase %d): got %d/%d/%d want %d\n",
			    c->a, c->b, c->icase, g1, g2, e1, c->want);
		CU_ASSERT_EQUAL(g1, c->want);
		CU_ASSERT_EQUAL(g2, c->want);
		CU_ASSERT_EQUAL(e1, c->want);
	}
}

struct sub_case {
	const char *a;
	const char *b[6];
	int icase, want;
};

static const struct sub_case sub_cases[] = {
	{ "s3:GetObjectVersio*", { "s3:GetObjectVersio?" }, 0, 0 },
	{ "s3:GetObjectVersio?", { "s3:GetObjectVersio*" }, 0, 1 },
	{ "s3:De*", { "s3:Delete*" }, 1, 0 },
	{ "s3:Delete*", { "s3:De*" }, 0, 1 },
	{ "S3:DELETE*", { "s3:delete*" }, 1, 1 },
	{ "S3:DELETE*", { "s3:delete*" }, 0, 0 },
	{ "s3:GetObject", { "s3:Get*" }, 0, 1 },
	{ "s3:GetObject", { "s3:Put*", "ec2:*" }, 0, 0 },
	{ "a*", { "a", "a?*" }, 0, 1 },
	{ "*", { "a*", "b*" }, 0, 0 },
	{ "ab*", { "abc*", "ab", "ab?", "ab??*" }, 0, 1 },
	{ "ab*", { "abc*", "ab" }, 0, 0 },
	{ "ab*", { "abc*", "ab", "ab??*" }, 0, 0 },
	{ "", { "*" }, 0, 1 },
	{ "", { "" }, 0, 1 },
	{ "", { "?*" }, 0, 0 },
	{ "*", { "*" }, 0, 1 },
	{ "**", { "*" }, 0, 1 },
	{ "*", { "**" }, 0, 1 },
	{ "*", { "", "?*" }, 0, 1 },
	{ "*", { "", "?", "??*" }, 0, 1 },
	{ "*", { "", "??*" }, 0, 0 },
	{ "?", { "*?" }, 0, 1 },
	{ "?", { "a", "b" }, 0, 0 },
	{ "?", { "a", "A" }, 1, 0 },
	{ "a*b", { "a*" }, 0, 1 },
	{ "a*b", { "*b*" }, 0, 1 },
	{ "*a*", { "*a" }, 0, 0 },
	{ "a*a", { "a?*a" }, 0, 0 },
	{ "a*a", { "a?*a", "aa" }, 0, 1 },
	{ "a*a", { "a*", "b*" }, 0, 1 },
	{ "*a*b*", { "*b*a*" }, 0, 0 },
	{ "*a*b*a*", { "*b*a*" }, 0, 1 },
	{ "?*", { "?" }, 0, 0 },
	{ "??", { "?*?" }, 0, 1 },
};

static void
test_subset_cases(void)
{
	size_t i, nb;
	int g, e;

	for (i = 0; i < sizeof(sub_cases) / sizeof(sub_cases[0]); i++) {
		const struct sub_case *c = &sub_cases[i];

		for (nb = 0; nb < 6 && c->b[nb] != NULL; nb++)
			;
		g = cfg_glob_subset(c->a, c->b, nb, c->icase);
		e = cfg_glob_subset_ex(c->a, c->b, nb, c->icase);
		if (g != c->want || e != c->want)
			fprintf(stderr,
			    "subset case %zu (%s): got %d/%d want %d\n", i,
			    c->a, g, e, c->want);
		CU_ASSERT_EQUAL(g, c->want);
		CU_ASSERT_EQUAL(e, c->want);
	}
	/* nb == 0: nothing covers anything (L(a) is never empty). */
	CU_ASSERT_EQUAL(cfg_glob_subset("x", NULL, 0, 0), 0);
	CU_ASSERT_EQUAL(cfg_glob_subset_ex("", NULL, 0, 0), 0);
}

/*
 * Every byte a literal can spell still leaves `*` and `?` themselves, which
 * no pattern can spell as literals (there are no escapes).
 */
static void
test_subset_all_bytes(void)
{
	char pats[255][2];
	const char *b[256];
	size_t i, n;

	for (i = 0, n = 0; i < 255; i++) {
		pats[i][0] = (char)(i + 1);
		pats[i][1] = '\0';
		if (i + 1 != '*' && i + 1 != '?')
			b[n++] = pats[i];
	}
	CU_ASSERT_EQUAL(cfg_glob_subset("?", b, n, 0), 0);
	CU_ASSERT_EQUAL(cfg_glob_subset("?", b, n, 1), 0);
	CU_ASSERT_EQUAL(cfg_glob_overlap("?", "\xff", 0), 1);
	b[n] = "?";
	CU_ASSERT_EQUAL(cfg_glob_subset("?", b, n + 1, 0), 1);
	/* The b that spell * and ? are wildcards: "*" covers everything. */
	CU_ASSERT_EQUAL(cfg_glob_subset("??*",
	                    (const char *const[]){ pats['*' - 1] }, 1, 0),
	    1);
	CU_ASSERT_EQUAL(
	    cfg_glob_subset("??", (const char *const[]){ pats['?' - 1] }, 1, 0),
	    0);
}

/* Many globs: the heap paths (codes, masks, pairs, hash) get exercised. */
static void
test_subset_many(void)
{
	static const char *const words[] = { "Object", "Bucket", "Acl",
		"Policy", "Tagging", "Lifecycle", "Replication", "Encryption",
		"Website", "Cors", "Logging", "Notification", "Metrics",
		"Analytics", "Inventory", "Accelerate", "Ownership",
		"Retention", "LegalHold", "Torrent" };
	char pats[64][48];
	const char *b[64];
	size_t i, n = 0;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		snprintf(pats[n], sizeof(pats[n]), "s3:Get%s*", words[i]);
		b[n] = pats[n];
		n++;
		snprintf(pats[n], sizeof(pats[n]), "s3:Get*%s?Configuration",
		    words[i]);
		b[n] = pats[n];
		n++;
	}
	b[n++] = "s3:Get?*";
	b[n++] = "s3:Get";
	CU_ASSERT_EQUAL(cfg_glob_subset_ex("s3:Get*", b, n, 0), 1);
	CU_ASSERT_EQUAL(cfg_glob_subset_ex("s3:get*", b, n, 1), 1);
	CU_ASSERT_EQUAL(cfg_glob_subset_ex("s3:get*", b, n, 0), 0);
	CU_ASSERT_EQUAL(cfg_glob_subset_ex("s3:Get*", b, n - 1, 0), 0);
	b[n - 2] = "s3:Get?*?";
	CU_ASSERT_EQUAL(cfg_glob_subset_ex("s3:Get*", b, n, 0), 0);
	CU_ASSERT_EQUAL(cfg_glob_subset_ex("s3:Get??*", b, n, 0), 1);
	CU_ASSERT_EQUAL(cfg_glob_subset_ex("s3:GetObject*", b, n - 2, 0), 1);
	CU_ASSERT_EQUAL(cfg_glob_subset_ex("s3:Get*Object", b, n - 2, 0), 0);
}

/* ---- fail closed ---- */

static void
test_budget(void)
{
	char *lng = malloc(CFG_GLOB_MAXLEN + 2);
	char deep[64];
	const char *b[2];
	int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(lng);
	/* Exactly the limit is fine. */
	memset(lng, 'a', CFG_GLOB_MAXLEN);
	lng[CFG_GLOB_MAXLEN] = '\0';
	CU_ASSERT_EQUAL(cfg_glob_overlap_ex(lng, "a*", 0), 1);
	CU_ASSERT_EQUAL(cfg_glob_overlap_ex(lng, "b*", 0), 0);
	b[0] = "a*";
	CU_ASSERT_EQUAL(cfg_glob_subset_ex(lng, b, 1, 0), 1);
	lng[7] = '*';
	CU_ASSERT_EQUAL(cfg_glob_subset_ex(lng, b, 1, 0), 1);
	/* One byte more: overlap says yes, subset says no. */
	memset(lng, 'a', CFG_GLOB_MAXLEN + 1);
	lng[CFG_GLOB_MAXLEN + 1] = '\0';
	CU_ASSERT_EQUAL(cfg_glob_overlap(lng, "b", 0), 1);
	CU_ASSERT_EQUAL(cfg_glob_overlap(lng, "*", 0), 1);
	CU_ASSERT_EQUAL(cfg_glob_overlap_ex(lng, "b", 0), -1);
	CU_ASSERT_EQUAL(cfg_glob_overlap("b", lng, 0), 1);
	b[0] = "*";
	CU_ASSERT_EQUAL(cfg_glob_subset(lng, b, 1, 0), 0);
	CU_ASSERT_EQUAL(cfg_glob_subset_ex(lng, b, 1, 0), -1);
	b[1] = lng;
	CU_ASSERT_EQUAL(cfg_glob_subset("a", b, 2, 0), 0);
	CU_ASSERT_EQUAL(cfg_glob_subset_ex("a", b, 2, 0), -1);
	/* NULL counts as over budget. */
	CU_ASSERT_EQUAL(cfg_glob_overlap(NULL, "a", 0), 1);
	CU_ASSERT_EQUAL(cfg_glob_overlap_ex("a", NULL, 0), -1);
	CU_ASSERT_EQUAL(cfg_glob_subset(NULL, b, 1, 0), 0);
	CU_ASSERT_EQUAL(cfg_glob_subset("a", NULL, 1, 0), 0);
	CU_ASSERT_EQUAL(cfg_glob_subset_ex("a", NULL, 1, 0), -1);
	free(lng);

	/*
	 * Explored-pair budget: "the k-th byte from the end is an a" needs
	 * about 2^k sets of b states, so with k = 19 the (true) inclusion of the
	 * pattern in itself cannot be shown within CFG_GLOB_MAXPAIRS; with
	 * k = 11 it can.
	 */
	strcpy(deep, "*a");
	for (i = 0; i < 10; i++)
		strcat(deep, "?");
	b[0] = deep;
	CU_ASSERT_EQUAL(cfg_glob_subset_ex(deep, b, 1, 0), 1);
	for (; i < 18; i++)
		strcat(deep, "?");
	CU_ASSERT_EQUAL(cfg_glob_subset(deep, b, 1, 0), 0);
	CU_ASSERT_EQUAL(cfg_glob_subset_ex(deep, b, 1, 0), -1);
	/* Overlap stays polynomial, so it still answers exactly. */
	CU_ASSERT_EQUAL(cfg_glob_overlap_ex(deep, deep, 0), 1);
}

/*
 * Work budget: the same blow-up with k = 18, plus 60 wide globs that keep
 * every step expensive (each is "*", 30 `?`, "z": it overlaps a, adds
 * nothing to the union, widens the set of b states to ~30 words), runs out
 * of CFG_GLOB_MAXWORK at ~44,000 pairs, long before CFG_GLOB_MAXPAIRS.
 * With k = 5 it answers.
 */
static void
test_budget_work(void)
{
	char deep[64], pad[40];
	const char *b[61];
	int i;

	memset(pad, '?', 32);
	pad[0] = '*';
	pad[31] = 'z';
	pad[32] = '\0';
	for (i = 0; i < 60; i++)
		b[i] = pad;
	strcpy(deep, "*a????");
	b[60] = deep;
	CU_ASSERT_EQUAL(cfg_glob_subset_ex(deep, b, 61, 0), 1);
	for (i = 4; i < 17; i++)
		strcat(deep, "?");
	CU_ASSERT_EQUAL(cfg_glob_subset_ex(deep, b, 61, 0), -1);
	CU_ASSERT_EQUAL(cfg_glob_subset(deep, b, 61, 0), 0);
}

/* ---- property test ---- */

/*
 * Patterns: length 0..5 over "abA*?", numbered by length then base 5, so a
 * pattern's brute-force bitmap is computed once and cached.
 */
#define PMAX     5
#define NPAT     3906 /* 1 + 5 + 25 + 125 + 625 + 3125 */
#define NPAIRS   100000
#define SEED     0x676c6f62616c6721ULL
#define WLEN     8  /* longest string the overlap reference enumerates */
#define MAXSTARS 3  /* a collapsed pattern of length <= 5 has <= 3 `*` */
#define MREP     6  /* bytes tried per `*` of a by the subset reference */
#define PADS     40 /* most padding globs in a rerun */

static const char palpha[] = "abA*?";
static const unsigned poff[PMAX + 1] = { 0, 1, 6, 31, 156, 781 };

static void
pat_of(unsigned id, char *buf)
{
	unsigned len = PMAX, i;

	while (id < poff[len])
		len--;
	id -= poff[len];
	for (i = 0; i < len; i++, id /= 5)
		buf[i] = palpha[id % 5];
	buf[len] = '\0';
}

static unsigned
id_of(const char *p)
{
	unsigned len = (unsigned)strlen(p), id = 0, i;

	for (i = len; i-- > 0;)
		id = id * 5 + (unsigned)(strchr(palpha, p[i]) - palpha);
	return poff[len] + id;
}

static uint64_t rng;

static uint64_t
rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned
rnd_pat(void)
{
	unsigned len = (unsigned)(rnd() % (PMAX + 1)), span = 1, i;

	for (i = 0; i < len; i++)
		span *= 5;
	return poff[len] + (unsigned)(rnd() % span);
}

/* A b that is often close to a, so that inclusions are common too. */
static unsigned
rnd_near(unsigned a)
{
	char p[PMAX + 2];
	unsigned k, n, len, pos;

	if (rnd() % 2 == 0)
		return rnd_pat();
	pat_of(a, p);
	for (k = 0, n = 1 + (unsigned)(rnd() % 2); k < n; k++) {
		len = (unsigned)strlen(p);
		pos = len > 0 ? (unsigned)(rnd() % len) : 0;
		switch (rnd() % 6) {
		case 0: /* generalise a byte */
			if (len > 0)
				p[pos] = '?';
			break;
		case 1:
			if (len > 0)
				p[pos] = '*';
			break;
		case 2:
			if (len < PMAX) {
				pos = (unsigned)(rnd() % (len + 1));
				memmove(p + pos + 1, p + pos, len - pos + 1);
				p[pos] = '*';
			}
			break;
		case 3:
			if (len > 0)
				memmove(p + pos, p + pos + 1, len - pos);
			break;
		case 4: /* flip case */
			if (len > 0 && (p[pos] == 'a' || p[pos] == 'A'))
				p[pos] = p[pos] == 'a' ? 'A' : 'a';
			break;
		default:
			if (len > 0)
				p[pos] = palpha[rnd() % 5];
			break;
		}
	}
	return id_of(p);
}

/*
 * Overlap reference: for every pattern, the set of all strings of length
 * <= WLEN over sigma = {a, b, A, c} that it matches, as one bitmap per
 * length L (4^L bits; the string x1..xL is bit number x1 x2 .. xL read in
 * base 4), so that L(a) meets L(b) in those strings iff the bitmaps share a
 * bit. The bitmaps come from running the pattern's NFA (its positions, as
 * in ref_match) on all strings of one length at once: S_L[j] is the set of
 * strings of length L after which position j is reachable, and appending
 * letter x to string i gives string 4i + x.
 *
 * Why this is exact for patterns of length <= 5. Take a shortest common
 * string w with an accepting run of each pattern on it. (1) No byte of w is
 * eaten by a `*` in both runs, or dropping it would leave a shorter common
 * string; so every byte is eaten by a literal or `?` of a or of b, and
 * |w| <= nonstar(a) + nonstar(b). If a has no `*`, |w| = |a| <= 5; same for
 * b; otherwise each has at most 4 non-`*` items and |w| <= 8 = WLEN (and 8
 * is needed: "aaaa*" vs "*bbbb"). (2) A byte eaten by a wildcard on both
 * sides can be any byte, for instance 'c', which is no pattern's literal; a
 * byte eaten by a literal on either side is that literal, 'a', 'b' or 'A'.
 * So sigma covers some shortest common string (under icase 'A' is not
 * needed, but does no harm).
 */
#define SIGMA      "abAc"
#define LVWORDS(L) ((L) < 3 ? 1u : 1u << (2 * (L)-6)) /* 4^L bits */
#define BMWORDS    1368 /* sum of LVWORDS(0..WLEN) */

struct refctx {
	int icase;
	uint64_t *bm[NPAT];   /* per pattern: the levels 0..WLEN back to back */
	size_t hi[NPAT];      /* words of bm[] up to the last non-zero one */
	uint32_t spread[256]; /* bit i -> bits 4i .. 4i+3 */
	uint64_t (*lv)[PMAX + 1][LVWORDS(WLEN)]; /* scratch: S_L, S_L+1 */
};

static const uint64_t *
ref_bitmap(struct refctx *c, unsigned id)
{
	uint64_t(*cur)[LVWORDS(WLEN)] = c->lv[0],
	(*nxt)[LVWORDS(WLEN)] = c->lv[1];
	uint64_t(*t)[LVWORDS(WLEN)], lanes, w, v;
	char p[PMAX + 1];
	unsigned len, j, x, dst, L, q, r, nin, nout, off;
	uint64_t *bm;

	if (c->bm[id] != NULL)
		return c->bm[id];
	pat_of(id, p);
	len = (unsigned)strlen(p);
	bm = calloc(BMWORDS, sizeof(uint64_t));
	CU_ASSERT_PTR_NOT_NULL_FATAL(bm);
	/* Length 0: position 0 and the `*`-skips from it. */
	for (j = 0; j <= len; j++)
		cur[j][0] = j == 0 || (cur[j - 1][0] && p[j - 1] == '*');
	bm[0] = cur[len][0];
	for (L = 0, off = 1; L < WLEN; off += LVWORDS(L + 1), L++) {
		nin = LVWORDS(L);
		nout = LVWORDS(L + 1);
		for (j = 0; j <= len; j++)
			memset(nxt[j], 0, nout * sizeof(uint64_t));
		for (j = 0; j < len; j++) {
			/* the letters position j consumes, one bit each */
			for (x = 0, lanes = 0; x < 4; x++)
				if (p[j] == '*' || p[j] == '?' ||
				    ref_eq((unsigned char)p[j],
				        (unsigned char)SIGMA[x], c->icase))
					lanes |= 0x1111111111111111ULL << x;
			dst = p[j] == '*' ? j : j + 1;
			for (q = 0; q < nin; q++) {
				if ((w = cur[j][q]) == 0)
					continue;
				for (r = 0; r < 4 && 4 * q + r < nout; r++) {
					v = w >> (16 * r);
					v = c->spread[v & 0xff] |
					    (uint64_t)c->spread[v >> 8 & 0xff]
					        << 32;
					nxt[dst][4 * q + r] |= v & lanes;
				}
			}
		}
		for (j = 0; j < len; j++) /* `*`-skips */
			if (p[j] == '*')
				for (q = 0; q < nout; q++)
					nxt[j + 1][q] |= nxt[j][q];
		memcpy(bm + off, nxt[len], nout * sizeof(uint64_t));
		t = cur;
		cur = nxt;
		nxt = t;
	}
	for (c->hi[id] = BMWORDS; c->hi[id] > 0 && bm[c->hi[id] - 1] == 0;)
		c->hi[id]--;
	return c->bm[id] = bm;
}

/*
 * Subset reference: try candidate witnesses. Why this is exact for a and b
 * of length <= 5. (1) Take a witness w (in L(a), matched by no b) and an
 * accepting run of a on it. Replace every byte eaten by a `?` or `*` of a
 * with 'c', which is no pattern's literal, not even folded: a's run still
 * accepts, and a b matching the new string would eat each 'c' with a
 * wildcard, which would eat the original byte as well, so b would match w.
 * Hence some witness is a with `?` -> "c" and the i-th `*` -> m_i times 'c'.
 * (2) If m_i > MREP = 6, drop one of those c's: the result w' is in L(a);
 * if some b matched w', then b is not `*`-free (|w'| >= 6 > |b|), so it has
 * at most 4 non-`*` items, which cannot eat all of the >= 6 c's of run i;
 * a `*` of b eats one of them and can eat one more, so b would match w.
 * So w' is a witness too, and some witness has every m_i <= 6: at most
 * 7^3 candidates once runs of `*` in a are collapsed.
 * Returns 1 (covered) or 0; *short_w tells whether a witness of length
 * <= WLEN exists, which the bitmaps can cross-check: by (1) and (2) some
 * shortest witness has the form tried here, over the letters a, b, A, c.
 * *bad is set if a candidate is not in L(a) at all (a bug in the test).
 */
static int
ref_subset(const char *a, const char *const *b, int nb, int icase, int *short_w,
    int *bad)
{
	char ac[PMAX + 1], w[PMAX + MAXSTARS * MREP + 1];
	unsigned m[MAXSTARS] = { 0 }, ns = 0, i, j, k, n, found = 0;
	int x;

	for (i = 0, n = 0; a[i] != '\0'; i++)
		if (a[i] != '*' || n == 0 || ac[n - 1] != '*')
			ac[n++] = a[i];
	ac[n] = '\0';
	for (i = 0; i < n; i++)
		ns += ac[i] == '*';
	*short_w = 0;
	for (;;) {
		for (i = 0, j = 0, k = 0; i < n; i++) {
			if (ac[i] == '*') {
				memset(w + j, 'c', m[k]);
				j += m[k++];
			} else {
				w[j++] = ac[i] == '?' ? 'c' : ac[i];
			}
		}
		w[j] = '\0';
		if (!ref_match(a, w, icase))
			*bad = 1;
		for (x = 0; x < nb && !ref_match(b[x], w, icase); x++)
			;
		if (x == nb) {
			found = 1;
			if (j <= WLEN) {
				*short_w = 1;
				return 0;
			}
		}
		/* next combination of the m_i */
		for (k = 0; k < ns && ++m[k] > MREP; k++)
			m[k] = 0;
		if (k == ns)
			break;
	}
	return found ? 0 : 1;
}

static int
ref_ctx_init(struct refctx *c, int icase)
{
	unsigned v, i;

	memset(c, 0, sizeof(*c));
	c->icase = icase;
	for (v = 0; v < 256; v++)
		for (i = 0; i < 8; i++)
			if (v >> i & 1)
				c->spread[v] |= 0xfu << (4 * i);
	c->lv = malloc(2 * sizeof(*c->lv));
	return c->lv != NULL ? 0 : -1;
}

static void
ref_ctx_free(struct refctx *c)
{
	size_t i;

	for (i = 0; i < NPAT; i++)
		free(c->bm[i]);
	free(c->lv);
}

/*
 * A pattern whose language is inside L(b): a `?` becomes a literal, or a
 * `*` becomes "", "?", "a", "?*" or "*a*". Padding a list of globs with
 * such patterns leaves their union, hence every inclusion, unchanged, while
 * it moves the real globs to other bit positions (across 64-bit words).
 */
static void
specialise(const char *b, char *out)
{
	static const char *const star_as[] = { "", "?", "a", "?*", "*a*" };
	const char *r;
	size_t i, j, len = strlen(b);

	i = len > 0 ? (size_t)(rnd() % len) : 0;
	for (j = 0; j < len; j++) {
		if (j != i || (b[j] != '?' && b[j] != '*')) {
			*out++ = b[j];
			continue;
		}
		if (b[j] == '?') {
			*out++ = "abA"[rnd() % 3];
			continue;
		}
		for (r = star_as[rnd() % 5]; *r != '\0'; r++)
			*out++ = *r;
	}
	*out = '\0';
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_property(void)
{
	char pa[PMAX + 1], pb[3][PMAX + 1];
	const char *bv[3];
	const uint64_t *ba, *bb[3];
	struct refctx ctx;
	unsigned ida, idb[3];
	char pads[PADS][2 * PMAX + 1];
	const char *pv[PADS + 3];
	long fails = 0, nov = 0, nsub = 0, nlong = 0, nbad = 0, npad = 0;
	long ncross = 0;
	int icase, n, nb, k, want, got, gx, sw, bad, bitw, np;
	size_t x, hi;
	uint64_t u;
	double t0 = now();

	rng = SEED;
	printf("\n    glob property: seed %#llx, %d pairs per icase mode\n",
	    (unsigned long long)SEED, NPAIRS);
	for (icase = 0; icase <= 1; icase++) {
		CU_ASSERT_FATAL(ref_ctx_init(&ctx, icase) == 0);
		for (n = 0; n < NPAIRS; n++) {
			ida = rnd_pat();
			pat_of(ida, pa);

			/* overlap, both ways, against the bitmaps */
			idb[0] = rnd_near(ida);
			pat_of(idb[0], pb[0]);
			ba = ref_bitmap(&ctx, ida);
			bb[0] = ref_bitmap(&ctx, idb[0]);
			hi = ctx.hi[ida] < ctx.hi[idb[0]] ? ctx.hi[ida]
			                                  : ctx.hi[idb[0]];
			for (x = 0, want = 0; x < hi && !want; x++)
				want = (ba[x] & bb[0][x]) != 0;
			got = cfg_glob_overlap(pa, pb[0], icase);
			gx = cfg_glob_overlap_ex(pb[0], pa, icase);
			nov += want;
			if (got != want || gx != want) {
				if (fails++ < 10)
					fprintf(stderr,
					    "overlap(%s, %s, icase %d): got "
					    "%d/%d want %d\n",
					    pa, pb[0], icase, got, gx, want);
			}

			/* subset of 1..3 globs */
			nb = 1 + (int)(rnd() % 3);
			for (k = 0; k < nb; k++) {
				idb[k] = rnd_near(ida);
				pat_of(idb[k], pb[k]);
				bv[k] = pb[k];
				bb[k] = ref_bitmap(&ctx, idb[k]);
			}
			bad = 0;
			want = ref_subset(pa, bv, nb, icase, &sw, &bad);
			/*
			 * Every 4th: the two references must agree on
			 * whether a witness of length <= WLEN exists.
			 */
			if (n % 4 == 1) {
				for (x = 0, bitw = 0; x < ctx.hi[ida] && !bitw;
				     x++) {
					for (k = 0, u = 0; k < nb; k++)
						u |= bb[k][x];
					bitw = (ba[x] & ~u) != 0;
				}
				ncross++;
				if (bitw != sw)
					nbad++;
			}
			if (bad)
				nbad++;
			/* The plain wrapper is covered by the cases above. */
			got = cfg_glob_subset_ex(pa, bv, (size_t)nb, icase);
			nsub += want;
			nlong += want == 0 && !sw;
			if (got != want && fails++ < 10)
				fprintf(stderr,
				    "subset(%s, {%s, %s, %s}, icase %d): got "
				    "%d "
				    "want %d\n",
				    pa, pb[0], nb > 1 ? pb[1] : "-",
				    nb > 2 ? pb[2] : "-", icase, got, want);

			/* every 4th: the same with up to PADS - 1 pads first */
			if (n % 4 != 0)
				continue;
			np = (int)(rnd() % PADS);
			for (k = 0; k < np; k++) {
				specialise(bv[rnd() % (unsigned)nb], pads[k]);
				pv[k] = pads[k];
			}
			for (k = 0; k < nb; k++)
				pv[np + k] = bv[k];
			got = cfg_glob_subset_ex(
			    pa, pv, (size_t)np + (size_t)nb, icase);
			npad++;
			if (got != want && fails++ < 10)
				fprintf(stderr,
				    "subset(%s, %d pads + {%s, %s, %s}, "
				    "icase %d): got %d want %d\n",
				    pa, np, pb[0], nb > 1 ? pb[1] : "-",
				    nb > 2 ? pb[2] : "-", icase, got, want);
		}
		ref_ctx_free(&ctx);
	}
	printf(
	    "    glob property: %d overlap and %d subset pairs: %ld overlap, "
	    "%ld covered (%ld witnesses longer than %d); %ld padded "
	    "reruns, %ld reference cross-checks, %.2f s\n",
	    2 * NPAIRS, 2 * NPAIRS, nov, nsub, nlong, WLEN, npad, ncross,
	    now() - t0);
	CU_ASSERT_EQUAL(nbad, 0);
	CU_ASSERT_EQUAL(fails, 0);
}

/* ---- timing (printed, not asserted) ---- */

static void
test_timing(void)
{
	static const char *const b[] = { "s3:GetObjectAcl*", "s3:GetBucket*",
		"s3:List*", "s3:Put*Acl", "s3:*Tagging", "ec2:Describe*",
		"iam:Get*", "s3:GetObjectVersion", "s3:GetObjectVersionAcl",
		"s3:GetObjectVersio?Tagging" };
	static const char *const c[] = { "s3:GetObject", "s3:GetObject?*",
		"s3:GetObjectV*", "s3:List*", "s3:Put*Acl", "s3:*Tagging",
		"ec2:Describe*", "iam:Get*", "s3:GetBucket*",
		"s3:GetObjectVersion*" };
	const int n = 5000;
	double t0;
	int i, r = 0;

	t0 = now();
	for (i = 0; i < n; i++)
		r += cfg_glob_subset("s3:GetObjectVersio*", b, 10, 1);
	printf("\n    glob timing: subset, 19-byte a, 10 globs, not covered: "
	       "%.2f us\n",
	    (now() - t0) / n * 1e6);
	CU_ASSERT_EQUAL(r, 0);
	t0 = now();
	for (i = 0, r = 0; i < n; i++)
		r += cfg_glob_subset("s3:GetObject*", c, 10, 1);
	printf(
	    "    glob timing: subset, 13-byte a, 10 globs, covered: %.2f us\n",
	    (now() - t0) / n * 1e6);
	CU_ASSERT_EQUAL(r, n);
	t0 = now();
	for (i = 0, r = 0; i < n; i++)
		r += cfg_glob_overlap("s3:GetObjectVersio*", "s3:*Tagging", 1);
	printf("    glob timing: overlap, 19 vs 11 bytes: %.2f us\n",
	    (now() - t0) / n * 1e6);
	CU_ASSERT_EQUAL(r, n);
}

const struct cu_test glob_tests[] = {
	{ "overlap_cases", test_overlap_cases },
	{ "subset_cases", test_subset_cases },
	{ "subset_all_bytes", test_subset_all_bytes },
	{ "subset_many", test_subset_many },
	{ "budget", test_budget },
	{ "budget_work", test_budget_work },
	{ "property", test_property },
	{ "timing", test_timing },
	{ NULL, NULL },
};
