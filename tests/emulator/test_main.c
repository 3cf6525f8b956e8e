/* graph-emulator test suites (each runs its own emulator process). */
#include "cu.h"
#include "suites.h"

const struct cu_suite cu_suites[] = {
	{ "graph", graph_init, graph_cleanup, graph_tests },
	{ "identity", ident_init, ident_cleanup, ident_tests },
	{ "faults", faults_init, faults_cleanup, faults_tests },
	{ "tls", tls_init, tls_cleanup, tls_tests },
	{ "access", access_init, access_cleanup, access_tests },
	{ "subs", subs_init, subs_cleanup, subs_tests },
	{ NULL, NULL, NULL, NULL },
};
