/*
 * Glob algebra: does L(a) meet L(b), is L(a) inside L(b0) u ... u L(bn-1)?
 * Semantics and budgets are in cfg_glob.h.
 *
 * A compiled glob is an NFA whose states are positions in the pattern:
 * position i has consumed the first i items. A literal or `?` at i moves to
 * i+1 on a matching byte, a `*` at i loops on every byte and may also be
 * skipped for free (epsilon to i+1), the end position accepts. Runs of `*`
 * are collapsed when compiling (`**` and `*` match the same strings), so a
 * skipped `*` always lands on a non-`*` item and every epsilon closure is
 * one step deep.
 *
 * Only bytes that occur as literals in the patterns at hand can be told
 * apart; every other byte takes exactly the same transitions in every NFA
 * involved, so one representative ("other") stands for all of them. Under
 * icase literals are folded to lower case when compiling and a symbol is a
 * folded byte. Bytes are unsigned; NUL never occurs in a string.
 *
 * Overlap is reachability of the accepting pair in the product of the two
 * NFAs, a dynamic program over (i, j). Subset looks for a witness, a string
 * of L(a) that no b[k] matches, by a breadth-first search over pairs
 * (state of a, set of states of all b[k]): the set is the determinised
 * union of the b NFAs (a bitset over the concatenated b patterns), while a
 * needs no determinising, since one accepting run of a on the witness is
 * enough. A pair in which a accepts and no b state does is a witness.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_glob.h"

/* Compiled items: 0-255 is a literal byte (folded under icase). */
#define G_ANY  256 /* `?` */
#define G_STAR 257 /* `*`, never twice in a row */
#define G_END  258 /* end of pattern, the accepting position */

/*
 * Stack room used before falling back to the heap; typical inputs (20-byte
 * patterns, ~10 globs) fit, so a call does not allocate.
 */
#define SMALL_CODES 1024 /* compiled b items */
#define SMALL_WORDS 512  /* bitset words for masks and scratch sets */
#define SMALL_PAIRS 512  /* arena words for explored pairs */
#define SMALL_SLOTS 256  /* hash slots (power of two) */
#define CHUNK_WORDS 8192 /* arena words per heap chunk of pairs */

static unsigned
fold(unsigned c, int icase)
{
	if (icase && c >= 'A' && c <= 'Z')
		return c - 'A' + 'a';
	return c;
}

/* Length of pat, or -1 when NULL or longer than CFG_GLOB_MAXLEN. */
static long
patlen(const char *pat)
{
	size_t n;

	if (pat == NULL)
		return -1;
	n = strnlen(pat, CFG_GLOB_MAXLEN + 1);
	return n > CFG_GLOB_MAXLEN ? -1 : (long)n;
}

/*
 * Compile pat into code[] (room for strlen(pat) + 1 items), collapsing runs
 * of `*`, and terminate it with G_END. Returns the number of items before
 * G_END.
 */
static size_t
compile(const char *pat, uint16_t *code, int icase)
{
	const unsigned char *p;
	size_t n = 0;

	for (p = (const unsigned char *)pat; *p != '\0'; p++) {
		if (*p == '*') {
			if (n == 0 || code[n - 1] != G_STAR)
				code[n++] = G_STAR;
		} else if (*p == '?') {
			code[n++] = G_ANY;
		} else {
			code[n++] = (uint16_t)fold(*p, icase);
		}
	}
	code[n] = G_END;
	return n;
}

/*
 * Do compiled a[0..la] and b[0..lb] share a string? ok(i, j): the product
 * state (i, j) reaches (la, lb). Rows are filled from the end, keeping two.
 * Every byte consumed in the product moves past at least one non-`*` item:
 * two `*` eating the same byte are never needed, since dropping that byte
 * from both leaves a shorter common string. So the moves out of (i, j) are:
 * skip a `*` on either side, let a `*` on one side eat the byte of a
 * literal or `?` on the other, or match two compatible non-`*` items.
 */
static int
overlap_codes(const uint16_t *a, size_t la, const uint16_t *b, size_t lb)
{
	uint8_t rows[2][CFG_GLOB_MAXLEN + 2];
	uint8_t *cur = rows[0], *nxt = rows[1], *t;
	unsigned ai, bj;
	size_t i, j;
	int r;

	/* Row la + 1 does not exist; nothing reads nxt while i == la. */
	for (i = la + 1; i-- > 0;) {
		ai = a[i];
		for (j = lb + 1; j-- > 0;) {
			bj = b[j];
			r = ai == G_END && bj == G_END;
			if (!r && ai == G_STAR)
				r = nxt[j] || (bj < G_STAR && cur[j + 1]);
			if (!r && bj == G_STAR)
				r = cur[j + 1] || (ai < G_STAR && nxt[j]);
			if (!r && ai < G_STAR && bj < G_STAR &&
			    (ai == G_ANY || bj == G_ANY || ai == bj))
				r = nxt[j + 1];
			cur[j] = (uint8_t)r;
		}
		t = cur;
		cur = nxt;
		nxt = t;
	}
	return nxt[0];
}

int
cfg_glob_overlap_ex(const char *a, const char *b, int icase)
{
	uint16_t ac[CFG_GLOB_MAXLEN + 1], bc[CFG_GLOB_MAXLEN + 1];
	size_t la, lb;

	if (patlen(a) == -1 || patlen(b) == -1)
		return -1;
	la = compile(a, ac, icase);
	lb = compile(b, bc, icase);
	return overlap_codes(ac, la, bc, lb);
}

int
cfg_glob_overlap(const char *a, const char *b, int icase)
{
	return cfg_glob_overlap_ex(a, b, icase) != 0;
}

/*
 * Cheap disjointness test used to drop globs before the search: the first
 * bytes of every string of L(p) are matched one by one by p's leading run
 * of non-`*` items, and its last bytes by its trailing run; so if a and b
 * put different literals at the same offset from the start (or from the
 * end) within those runs, they share nothing. Dropping a b disjoint from a
 * never changes the answer: it cannot match any string of L(a).
 */
static int
clash(const uint16_t *a, size_t la, const uint16_t *b, size_t lb)
{
	size_t i;

	for (i = 0; i < la && i < lb && a[i] != G_STAR && b[i] != G_STAR; i++)
		if (a[i] < G_ANY && b[i] < G_ANY && a[i] != b[i])
			return 1;
	for (i = 1;
	     i <= la && i <= lb && a[la - i] != G_STAR && b[lb - i] != G_STAR;
	     i++)
		if (a[la - i] < G_ANY && b[lb - i] < G_ANY &&
		    a[la - i] != b[lb - i])
			return 1;
	return 0;
}

/* Has a neither `?` nor `*`, so that L(a) is a single string? */
static int
is_single(const uint16_t *a, size_t la)
{
	size_t i;

	for (i = 0; i < la; i++)
		if (a[i] >= G_ANY)
			return 0;
	return 1;
}

struct search {
	const uint16_t *a;     /* compiled a */
	size_t w;              /* words in a set of b states */
	size_t stride;         /* words per pair: a's position, then the set */
	const uint64_t *star;  /* b positions holding `*` */
	const uint64_t *one;   /* b positions holding `?` */
	const uint64_t *end;   /* b end positions (accepting) */
	const uint64_t *full;  /* b `*` just before an end: accepts all */
	const uint64_t *lit;   /* per symbol, b positions holding it */
	int sym[256];          /* folded literal byte -> symbol, or -1 */
	size_t nsym;           /* symbols: the literals, then "other" */
	size_t nlit;           /* symbols that are literals */
	uint64_t *pairs_small; /* first pairs, on the stack */
	size_t nsmall;         /* pairs that fit there */
	uint64_t **chunk;      /* further pairs, per_chunk in each chunk */
	size_t nchunk, chunkcap, per_chunk;
	size_t npairs, cap; /* pairs used, pairs room */
	uint64_t *slots;    /* hash of pairs: tag << 32 | index + 1; 0 free */
	size_t nslots;      /* power of two */
	uint64_t *slots_small; /* initial stack table */
	size_t heap;           /* bytes of heap in use, for the budget */
	size_t work;           /* work done, for the budget */
};

static int
meets(const uint64_t *x, const uint64_t *y, size_t w)
{
	size_t k;

	for (k = 0; k < w; k++)
		if (x[k] & y[k])
			return 1;
	return 0;
}

static uint64_t
hash_pair(const uint64_t *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL;
	size_t k;

	for (k = 0; k < n; k++) {
		h ^= p[k];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	return h;
}

/*
 * Pairs live in fixed chunks that never move (growing one array would copy
 * it over and over); the first few live on the stack.
 */
static uint64_t *
pair_at(const struct search *s, size_t q)
{
	if (q < s->nsmall)
		return s->pairs_small + q * s->stride;
	q -= s->nsmall;
	return s->chunk[q / s->per_chunk] + (q % s->per_chunk) * s->stride;
}

static int
grow_pairs(struct search *s)
{
	size_t bytes = s->per_chunk * s->stride * sizeof(uint64_t), n;
	uint64_t **v;

	if (s->nchunk == s->chunkcap) {
		n = s->chunkcap > 0 ? s->chunkcap * 2 : 16;
		if ((v = realloc(s->chunk, n * sizeof(*v))) == NULL)
			return -1;
		s->heap += (n - s->chunkcap) * sizeof(*v);
		s->chunk = v;
		s->chunkcap = n;
	}
	if (s->heap + bytes > CFG_GLOB_MAXMEM ||
	    (s->chunk[s->nchunk] = malloc(bytes)) == NULL)
		return -1;
	s->nchunk++;
	s->heap += bytes;
	s->cap += s->per_chunk;
	return 0;
}

/*
 * Double the hash table. Slots carry the top half of the pair's hash (the
 * tag), which both places them and spares most comparisons of whole pairs,
 * so neither growing nor probing touches the arena.
 */
static int
grow_slots(struct search *s)
{
	size_t n = s->nslots * 2, bytes = n * sizeof(uint64_t), q, h;
	uint64_t *t;

	if (s->heap + bytes > CFG_GLOB_MAXMEM)
		return -1;
	if ((t = calloc(n, sizeof(uint64_t))) == NULL)
		return -1;
	for (q = 0; q < s->nslots; q++) {
		if (s->slots[q] == 0)
			continue;
		h = (size_t)(s->slots[q] >> 32) & (n - 1);
		while (t[h] != 0)
			h = (h + 1) & (n - 1);
		t[h] = s->slots[q];
	}
	if (s->slots != s->slots_small) {
		free(s->slots);
		s->heap -= s->nslots * sizeof(uint64_t);
	}
	s->heap += bytes;
	s->slots = t;
	s->nslots = n;
	return 0;
}

/*
 * Record pair (i, set). Returns 1 when it is a witness (a accepts, no b
 * does), -1 over budget, 0 otherwise (new, already known, or pruned).
 */
static int
add(struct search *s, size_t i, const uint64_t *set)
{
	size_t h, w = s->w;
	uint64_t *p, tag, x;

	s->work += s->stride + 1;
	/* Some b is at a final `*`: every continuation is covered. */
	if (meets(set, s->full, w))
		return 0;
	if ((s->a[i] == G_END || (s->a[i] == G_STAR && s->a[i + 1] == G_END)) &&
	    !meets(set, s->end, w))
		return 1;
	if (s->npairs == s->cap && grow_pairs(s) == -1)
		return -1;
	p = pair_at(s, s->npairs);
	p[0] = i;
	memcpy(p + 1, set, w * sizeof(uint64_t));
	tag = hash_pair(p, s->stride) >> 32;
	h = (size_t)tag & (s->nslots - 1);
	while ((x = s->slots[h]) != 0) {
		if (x >> 32 == tag && memcmp(pair_at(s, (x & 0xffffffff) - 1),
		                          p, s->stride * sizeof(uint64_t)) == 0)
			return 0;
		h = (h + 1) & (s->nslots - 1);
	}
	if (s->npairs >= CFG_GLOB_MAXPAIRS)
		return -1;
	s->slots[h] = tag << 32 | ++s->npairs;
	if (s->npairs * 2 > s->nslots && grow_slots(s) == -1)
		return -1;
	return 0;
}

/*
 * out = closure of the b states reached from cur on symbol y: a `*` stays,
 * a `?` or a matching literal moves on by one; then every `*` reached is
 * also skipped (one step, as runs of `*` are collapsed). A move from the
 * last item of a pattern lands on its end bit, which has no moves itself,
 * so nothing leaks into the next pattern.
 */
static void
step(struct search *s, const uint64_t *cur, size_t y, uint64_t *out)
{
	const uint64_t *lit = y < s->nlit ? s->lit + y * s->w : NULL;
	uint64_t c1 = 0, c2 = 0, x, t, u;
	size_t k;

	s->work += s->w + 1;
	for (k = 0; k < s->w; k++) {
		x = cur[k] & (s->one[k] | (lit != NULL ? lit[k] : 0));
		t = (cur[k] & s->star[k]) | (x << 1) | c1;
		c1 = x >> 63;
		u = t & s->star[k];
		out[k] = t | (u << 1) | c2;
		c2 = u >> 63;
	}
}

/* out = in plus the position after every `*` in it (epsilon moves). */
static void
closure(const struct search *s, const uint64_t *in, uint64_t *out)
{
	uint64_t carry = 0, u;
	size_t k;

	for (k = 0; k < s->w; k++) {
		u = in[k] & s->star[k];
		out[k] = in[k] | (u << 1) | carry;
		carry = u >> 63;
	}
}

/*
 * Breadth-first over pairs in the order they were recorded (the arena is
 * the queue). Returns 1 when no witness exists, 0 when one does, -1 over
 * budget.
 */
static int
explore(struct search *s, uint64_t *cur, uint64_t *nxt)
{
	unsigned c, after;
	const uint64_t *p;
	size_t q, i, y;
	int r;

	for (q = 0; q < s->npairs; q++) {
		p = pair_at(s, q);
		i = (size_t)p[0];
		memcpy(cur, p + 1, s->w * sizeof(uint64_t));
		c = s->a[i];
		if (c == G_END)
			continue;
		/*
		 * Bound the time, not only the pairs: with many long globs
		 * every step and every pair costs many words (step(), add()).
		 */
		if (s->work > CFG_GLOB_MAXWORK)
			return -1;
		if (c < G_ANY) {
			step(s, cur, (size_t)s->sym[c], nxt);
			if ((r = add(s, i + 1, nxt)) != 0)
				return r == 1 ? 0 : -1;
			continue;
		}
		/* `?` or `*`: any symbol; a `*` also offers the item after it. */
		after = c == G_STAR ? s->a[i + 1] : G_END;
		for (y = 0; y < s->nsym; y++) {
			step(s, cur, y, nxt);
			if (c == G_ANY) {
				r = add(s, i + 1, nxt);
			} else {
				r = add(s, i, nxt);
				if (r == 0 &&
				    (after == G_ANY ||
				        (after < G_ANY &&
				            (size_t)s->sym[after] == y)))
					r = add(s, i + 2, nxt);
			}
			if (r != 0)
				return r == 1 ? 0 : -1;
			if (s->work > CFG_GLOB_MAXWORK)
				return -1;
		}
	}
	return 1;
}

/*
 * Search L(a) \ (L(b0) u ...) where b[0..nb) holds the compiled b patterns
 * back to back, each ended by G_END. Returns as cfg_glob_subset_ex().
 */
static int
subset_search(const uint16_t *a, size_t la, const uint16_t *b, size_t nb)
{
	uint64_t wsmall[SMALL_WORDS], psmall[SMALL_PAIRS];
	uint64_t tsmall[SMALL_SLOTS];
	uint64_t *words = wsmall, *star, *one, *end, *full, *lit, *cur, *nxt;
	struct search s;
	size_t i, y, nwords;
	unsigned c;
	int r;

	memset(&s, 0, sizeof(s));
	s.a = a;
	for (c = 0; c < 256; c++)
		s.sym[c] = -1;
	for (i = 0; i < la; i++)
		if (a[i] < G_ANY && s.sym[a[i]] == -1)
			s.sym[a[i]] = (int)s.nsym++;
	for (i = 0; i < nb; i++)
		if (b[i] < G_ANY && s.sym[b[i]] == -1)
			s.sym[b[i]] = (int)s.nsym++;
	/*
	 * One more symbol, "other", for the bytes no literal names. There
	 * always are some: no pattern can spell `*` or `?` as a literal.
	 */
	s.nlit = s.nsym++;

	s.w = (nb + 63) / 64;
	s.stride = s.w + 1;
	/* star, one, end, full, lit[nlit], cur, nxt */
	nwords = (6 + s.nlit) * s.w;
	if (nwords > SMALL_WORDS) {
		if (nwords * sizeof(uint64_t) > CFG_GLOB_MAXMEM ||
		    (words = calloc(nwords, sizeof(uint64_t))) == NULL)
			return -1;
		s.heap = nwords * sizeof(uint64_t);
	} else {
		memset(words, 0, nwords * sizeof(uint64_t));
	}
	star = words;
	one = star + s.w;
	end = one + s.w;
	full = end + s.w;
	lit = full + s.w;
	cur = lit + s.nlit * s.w;
	nxt = cur + s.w;
	for (i = 0; i < nb; i++) {
		if (i == 0 || b[i - 1] == G_END)
			cur[i / 64] |= (uint64_t)1 << (i % 64);
		if (b[i] == G_END)
			end[i / 64] |= (uint64_t)1 << (i % 64);
		else if (b[i] == G_STAR && b[i + 1] == G_END)
			full[i / 64] |= (uint64_t)1 << (i % 64);
		if (b[i] == G_STAR)
			star[i / 64] |= (uint64_t)1 << (i % 64);
		else if (b[i] == G_ANY)
			one[i / 64] |= (uint64_t)1 << (i % 64);
		else if (b[i] < G_ANY) {
			y = (size_t)s.sym[b[i]];
			lit[y * s.w + i / 64] |= (uint64_t)1 << (i % 64);
		}
	}
	s.star = star;
	s.one = one;
	s.end = end;
	s.full = full;
	s.lit = lit;
	s.pairs_small = psmall;
	s.cap = s.nsmall = SMALL_PAIRS / s.stride; /* 0 is fine */
	s.per_chunk = CHUNK_WORDS / s.stride > 0 ? CHUNK_WORDS / s.stride : 1;
	s.slots = s.slots_small = tsmall;
	s.nslots = SMALL_SLOTS;
	memset(tsmall, 0, sizeof(tsmall));

	/* The start set: each pattern's first position, closed. */
	closure(&s, cur, nxt);
	if ((r = add(&s, 0, nxt)) != 0)
		r = r == 1 ? 0 : -1;
	else
		r = explore(&s, cur, nxt);
	for (i = 0; i < s.nchunk; i++)
		free(s.chunk[i]);
	free(s.chunk);
	if (s.slots != s.slots_small)
		free(s.slots);
	if (words != wsmall)
		free(words);
	return r;
}

int
cfg_glob_subset_ex(const char *a, const char *const *b, size_t nb, int icase)
{
	uint16_t ac[CFG_GLOB_MAXLEN + 1], bsmall[SMALL_CODES];
	uint16_t *bc = bsmall;
	size_t i, la, lb, total = 0, used = 0;
	long n;
	int r;

	if (patlen(a) == -1 || (nb > 0 && b == NULL))
		return -1;
	for (i = 0; i < nb; i++) {
		if ((n = patlen(b[i])) == -1)
			return -1;
		total += (size_t)n + 1;
	}
	if (nb == 0)
		return 0;
	la = compile(a, ac, icase);
	if (total > SMALL_CODES) {
		if (total * sizeof(uint16_t) > CFG_GLOB_MAXMEM ||
		    (bc = malloc(total * sizeof(uint16_t))) == NULL)
			return -1;
	}
	/* Keep the b that may meet a, back to back, each ended by G_END. */
	for (i = 0; i < nb; i++) {
		lb = compile(b[i], bc + used, icase);
		if (lb == 1 && bc[used] == G_STAR) {
			r = 1; /* `*` covers everything */
			goto out;
		}
		if (!clash(ac, la, bc + used, lb))
			used += lb + 1;
	}
	if (used == 0) {
		r = 0;
	} else if (is_single(ac, la)) {
		/* L(a) is one string: covered iff some b matches it. */
		r = 0;
		for (i = 0; i < used && r == 0; i += lb + 1) {
			for (lb = 0; bc[i + lb] != G_END; lb++)
				;
			r = overlap_codes(ac, la, bc + i, lb);
		}
	} else {
		r = subset_search(ac, la, bc, used);
	}
out:
	if (bc != bsmall)
		free(bc);
	return r;
}

int
cfg_glob_subset(const char *a, const char *const *b, size_t nb, int icase)
{
	return cfg_glob_subset_ex(a, b, nb, icase) == 1;
}
