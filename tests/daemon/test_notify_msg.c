/*
 * Issue 15, notification texts as a table (daemon/effects/notify_msg.c):
 * every notification kind of the state machine has its row with every
 * text set, its name finds that row, only the stage kinds ask approvers,
 * and a name that is no kind gets attention's row.
 */
#include <stdio.h>
#include <string.h>

#include "cu.h"
#include "effects.h"

static int
is_stage_kind(int n)
{
	return n == SM_N_PENDING || n == SM_N_REMINDER || n == SM_N_ESCALATED;
}

static void
test_texts_every_kind(void)
{
	const struct notify_text *t;
	int n;

	for (n = 0; n < SM_N_MAX; n++) {
		t = notify_text((enum sm_notify_kind)n);
		if (t == NULL) {
			fprintf(stderr, "notify kind %s has no row\n",
			    sm_notify_name((enum sm_notify_kind)n));
			CU_FAIL("a notify kind has no row");
			continue;
		}
		CU_ASSERT(t->lead != NULL && t->lead[0] != '\0');
		CU_ASSERT(t->todo != NULL && t->todo[0] != '\0');
		CU_ASSERT_PTR_NOT_NULL(t->todo_end);
		CU_ASSERT(t->arg == NOTIFY_ARG_NONE ||
		          t->arg == NOTIFY_ARG_REASON ||
		          t->arg == NOTIFY_ARG_KEY);
		CU_ASSERT_EQUAL(t->stage != 0, is_stage_kind(n));
		CU_ASSERT_PTR_EQUAL(
		    notify_text_named(sm_notify_name((enum sm_notify_kind)n)),
		    t);
	}
	CU_ASSERT_PTR_NULL(notify_text(SM_N_MAX));
	CU_ASSERT_PTR_NULL(notify_text((enum sm_notify_kind) - 1));
}

static void
test_texts_unknown_name(void)
{
	const struct notify_text *a = notify_text(SM_N_ATTENTION);

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_EQUAL(notify_text_named("no such kind"), a);
	CU_ASSERT_PTR_EQUAL(notify_text_named(""), a);
	CU_ASSERT_PTR_EQUAL(notify_text_named("PENDING"), a);
	CU_ASSERT_EQUAL(a->stage, 0);
	CU_ASSERT_EQUAL(a->arg, NOTIFY_ARG_KEY);
}

static const struct cu_test texts_tests[] = {
	{ "every notify kind has a row with its texts", test_texts_every_kind },
	{ "a name that is no kind: attention's row", test_texts_unknown_name },
	{ NULL, NULL },
};

const struct cu_suite cu_suites[] = {
	{ "texts", NULL, NULL, texts_tests },
	{ NULL, NULL, NULL, NULL },
};
