/* Test harness: run the real graph-emulator and talk to it with libcurl. */
#ifndef EMU_HARNESS_H
#define EMU_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <json-c/json.h>

struct resp {
	long status;
	int curl_rc;
	char *body;
	size_t len;
	char retry_after[32];
	char request_id[64];
	char client_request_id[64];
	json_object *json; /* parsed body or NULL */
};

/* Start the emulator with extra args (NULL-terminated); 0 on success. */
int h_start(const char *const *extra);
/* SIGTERM the emulator; returns its exit status (0 expected). */
int h_stop(void);
/* Base URL, e.g. http://127.0.0.1:PORT */
const char *h_base(void);
/* Perform a call; path is appended to the base URL unless absolute. */
struct resp *h_call(const char *method, const char *path, const char *token,
    const char *body, const char *ctype);
struct resp *h_call_hdr(const char *method, const char *path, const char *token,
    const char *body, const char *ctype, const char *hdr);
void h_free(struct resp *);
/* Reset emulator state. */
void h_reset(void);
/* Mint a delegated token for user (upn/id) or an app token ("app:ID"). */
char *h_token(const char *who);
const char *h_str(json_object *o, const char *path);

/* String assertions that fail, rather than crash, on a missing field. */
#define H_ASSERT_STR(a, b)                                                     \
	do {                                                                   \
		const char *h_a_ = (a);                                        \
		CU_ASSERT_PTR_NOT_NULL(h_a_);                                  \
		if (h_a_ != NULL)                                              \
			CU_ASSERT_STRING_EQUAL(h_a_, (b));                     \
	} while (0)
#define H_STRCMP(a, b) ((a) != NULL ? strcmp((a), (b)) : -1)
char *h_fixture(const char *name);
/* Create an EPM request from a fixture as user; returns id (malloc). */
char *h_create_epm(const char *fixture, const char *token);
extern const char *h_ca_file;

#define TENANT  "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define APP_ID  "0f6b3a2e-9c1d-4e8a-b7f5-3d2c1b0a9e8f"
#define APP_SEC "demo-only-secret-approvald"
#define ALEX_ID "3cce9d87-3986-4f19-8335-7ed075408ca2"
#define EPM     "/beta/identityGovernance/permissionsManagement/"
#define PIM     "/v1.0/identityGovernance/privilegedAccess/group/"

#endif
