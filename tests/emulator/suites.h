/* Suites of the graph-emulator tests. */
#ifndef EMU_SUITES_H
#define EMU_SUITES_H

#include "cu.h"

int graph_init(void);
int graph_cleanup(void);
extern const struct cu_test graph_tests[];
int ident_init(void);
int ident_cleanup(void);
extern const struct cu_test ident_tests[];
int faults_init(void);
int faults_cleanup(void);
extern const struct cu_test faults_tests[];
int tls_init(void);
int tls_cleanup(void);
extern const struct cu_test tls_tests[];
int access_init(void);
int access_cleanup(void);
extern const struct cu_test access_tests[];
int subs_init(void);
int subs_cleanup(void);
extern const struct cu_test subs_tests[];

#endif
