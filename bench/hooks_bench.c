/*
 * bench_hooks: hook received -> Graph decision PATCH, for auto-approved
 * requests. For each of N rounds: create an auto-approvable request in the
 * emulator, send a signed POST /v1/hooks/evaluate naming it, and wait until
 * the emulator's ground truth holds its approval. approvald polls hourly,
 * so only the hook can wake it. The latency is from just before the hook
 * is sent to the time the emulator recorded the approval (its truth entry,
 * on the same wall clock), so the driver's own polling — every 2 ms, not
 * a busy loop competing for the two cores — does not count. Prints p50,
 * p90, p99 and max in ms.
 *
 * usage: bench_hooks EMU_URL CA_FILE HOOK_URL SECRET_FILE REQUEST.json N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

struct buf {
	char *p;
	size_t n;
};

static size_t
collect(char *d, size_t sz, size_t nm, void *arg)
{
	struct buf *b = arg;
	char *np = realloc(b->p, b->n + sz * nm + 1);

	if (np == NULL)
		return 0;
	b->p = np;
	memcpy(b->p + b->n, d, sz * nm);
	b->n += sz * nm;
	b->p[b->n] = '\0';
	return sz * nm;
}

/* Wall clock in ms: the emulator stamps its truth entries with it. */
static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* "2026-11-22T15:42:49.1234567Z" -> ms since the epoch; -1 if not. */
static double
iso_ms(const char *s)
{
	struct tm tm;
	const char *frac;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (frac = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	return (double)timegm(&tm) * 1e3 +
	       (*frac == '.' ? strtod(frac, NULL) * 1e3 : 0);
}

/* The time of request `id`'s decision in truth JSON `body`; -1 if none. */
static double
decided_at(const char *body, const char *id)
{
	struct json_object *o = json_tokener_parse(body), *a, *d, *v;
	double t = -1;
	size_t i, n;

	if (o != NULL && json_object_object_get_ex(o, "decisions", &a) &&
	    json_object_is_type(a, json_type_array)) {
		n = json_object_array_length(a);
		for (i = 0; i < n && t < 0; i++) {
			d = json_object_array_get_idx(a, i);
			if (json_object_object_get_ex(d, "requestId", &v) &&
			    strcmp(json_object_get_string(v), id) == 0 &&
			    json_object_object_get_ex(d, "time", &v))
				t = iso_ms(json_object_get_string(v));
		}
	}
	json_object_put(o);
	return t;
}

static long
req(CURL *c, const char *method, const char *url, const char *body,
    struct curl_slist *h, struct buf *out)
{
	long st = 0;

	out->n = 0;
	if (out->p)
		out->p[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (body == NULL)
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	if (curl_easy_perform(c) != CURLE_OK)
		return 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	return st;
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0)
		exit(2);
	rewind(f);
	if ((s = malloc((size_t)n + 1)) == NULL ||
	    fread(s, 1, (size_t)n, f) != (size_t)n)
		exit(2);
	s[n] = '\0';
	fclose(f);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	const char *emu, *ca, *hook;
	char *secret, *reqbody, *create, url[512], hdr[256], *msg, *body;
	char *id, hex[65];
	struct json_object *o, *v;
	unsigned char md[32];
	unsigned int mdlen, k;
	int i, n;
	double *lat, t0;
	CURL *ce, *ch;
	struct buf out = { 0 };
	struct curl_slist *jh = NULL, *hh;
	long long t;

	if (argc != 7) {
		fprintf(stderr, "usage: bench_hooks EMU_URL CA HOOK_URL "
		                "SECRET_FILE REQUEST.json N\n");
		return 2;
	}
	emu = argv[1];
	ca = argv[2];
	hook = argv[3];
	secret = slurp(argv[4]);
	reqbody = slurp(argv[5]);
	n = atoi(argv[6]);
	if (n <= 0 || (lat = calloc((size_t)n, sizeof(*lat))) == NULL)
		return 2;
	if (asprintf(&create,
	        "{\"requestor\":\"alex@contoso.com\",\"body\":%s}",
	        reqbody) == -1)
		exit(2);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	ce = curl_easy_init();
	ch = curl_easy_init();
	curl_easy_setopt(ce, CURLOPT_CAINFO, ca);
	jh = curl_slist_append(jh, "Content-Type: application/json");
	for (i = 0; i < n; i++) {
		snprintf(url, sizeof(url), "%s/_emulator/requests", emu);
		if (req(ce, "POST", url, create, jh, &out) != 201 ||
		    (o = json_tokener_parse(out.p)) == NULL ||
		    !json_object_object_get_ex(o, "id", &v)) {
			fprintf(stderr, "bench_hooks: create failed\n");
			exit(1);
		}
		if ((id = strdup(json_object_get_string(v))) == NULL)
			exit(2);
		json_object_put(o);
		if (asprintf(&body, "{\"request\":\"%s\"}", id) == -1)
			exit(2);
		t = (long long)time(NULL);
		if (asprintf(&msg, "%lld.%s", t, body) == -1)
			exit(2);
		HMAC(EVP_sha256(), secret, (int)strlen(secret),
		    (unsigned char *)msg, strlen(msg), md, &mdlen);
		for (k = 0; k < 32; k++)
			snprintf(hex + 2 * k, 3, "%02x", md[k]);
		snprintf(hdr, sizeof(hdr),
		    "X-Approvald-Signature: t=%lld,v1=%s", t, hex);
		hh = curl_slist_append(NULL, hdr);
		t0 = now_ms();
		if (req(ch, "POST", hook, body, hh, &out) != 202) {
			fprintf(stderr, "bench_hooks: hook refused\n");
			exit(1);
		}
		snprintf(url, sizeof(url), "%s/_emulator/truth", emu);
		for (;;) {
			const struct timespec pause = { 0, 2000000 };
			double at;

			if (req(ce, "GET", url, NULL, NULL, &out) == 200 &&
			    (at = decided_at(out.p, id)) > 0) {
				lat[i] = at - t0;
				break;
			}
			if (now_ms() - t0 > 10000) {
				fprintf(stderr, "bench_hooks: %s not decided\n",
				    id);
				exit(1);
			}
			nanosleep(&pause, NULL);
		}
		curl_slist_free_all(hh);
		free(msg);
		free(body);
		free(id);
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp);
	printf("hook -> decision PATCH, %d requests: p50 %.2f ms, p90 %.2f ms, "
	       "p99 %.2f ms, max %.2f ms\n",
	    n, lat[n / 2], lat[(n * 90) / 100], lat[(n * 99) / 100],
	    lat[n - 1]);
	curl_slist_free_all(jh);
	curl_easy_cleanup(ce);
	curl_easy_cleanup(ch);
	free(out.p);
	free(lat);
	free(create);
	free(reqbody);
	free(secret);
	return 0;
}
