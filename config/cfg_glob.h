/*
 * Glob algebra (internal to config/, not installed): exact intersection and
 * inclusion of the languages of policy globs.
 *
 * Pattern syntax is the one of cfg_glob_match(): `*` stands for any run of
 * bytes (possibly empty), `?` for exactly one byte, every other byte for
 * itself; there are no escapes and no classes. A pattern is a NUL-terminated
 * string and L(p) is the set of NUL-free byte strings it matches. With icase
 * set, ASCII letters compare case-insensitively on both sides (A-Z == a-z);
 * other bytes, including non-ASCII ones, always compare exactly.
 *
 * Both questions are decided exactly (no heuristics, no false answers) as
 * long as the inputs stay within the budgets below. Past a budget the plain
 * functions fail closed, i.e. they give the answer that grants less:
 * cfg_glob_overlap() says "they may overlap" (1) and cfg_glob_subset() says
 * "not covered" (0). The _ex variants return -1 instead, so a caller can log
 * that the answer was not computed. A NULL pattern, or b == NULL with
 * nb > 0, counts as over budget.
 *
 * Typical inputs (20-byte patterns, ~10 globs) take about a microsecond and
 * no heap allocation; the budgets cap a call at tens of milliseconds. Both
 * functions use up to ~16 KiB of stack, keep no state between calls and are
 * thread-safe.
 */
#ifndef CONFIG_GLOB_H
#define CONFIG_GLOB_H

#include <stddef.h>

/* Longest pattern accepted, in bytes (before `**` runs are collapsed). */
#define CFG_GLOB_MAXLEN 1024
/* Most (state of a, set of states of b[]) pairs cfg_glob_subset() explores. */
#define CFG_GLOB_MAXPAIRS 200000
/* Most heap memory one cfg_glob_subset() call may use, in bytes. */
#define CFG_GLOB_MAXMEM (32u << 20)
/*
 * Most work one cfg_glob_subset() call may do, in 64-bit words of sets of b
 * states stepped or recorded (a set has one bit per byte of the b globs).
 * This bounds its time (a few tens of milliseconds) when many long globs
 * make every step expensive, which CFG_GLOB_MAXPAIRS alone would not.
 */
#define CFG_GLOB_MAXWORK ((size_t)1 << 22)

/*
 * L(a) and L(b) share at least one string: 1; they are disjoint: 0.
 * Over budget (a pattern longer than CFG_GLOB_MAXLEN, or NULL): 1.
 * Time O(|a| * |b|), no allocation.
 */
int cfg_glob_overlap(const char *a, const char *b, int icase);
/* Same, but over budget returns -1. */
int cfg_glob_overlap_ex(const char *a, const char *b, int icase);

/*
 * Every string of L(a) is matched by at least one of b[0..nb-1]: 1; some
 * string of L(a) is matched by none of them: 0 (so nb == 0 gives 0, since
 * L(a) is never empty). Over budget (a pattern longer than CFG_GLOB_MAXLEN,
 * more than CFG_GLOB_MAXPAIRS explored pairs, more than CFG_GLOB_MAXWORK of
 * work or CFG_GLOB_MAXMEM of memory, a NULL pattern): 0.
 */
int cfg_glob_subset(const char *a, const char *const *b, size_t nb, int icase);
/* Same, but over budget returns -1. */
int cfg_glob_subset_ex(
    const char *a, const char *const *b, size_t nb, int icase);

#endif
