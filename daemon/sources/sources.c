/* The sources, one table: each src_*.c is data for its row (apart from
 * the helpers in adapter.c, which the fuzzers build alone). */
#include "sources.h"

static const struct source_adapter *const adapters[REQ_SRC_MAX] = {
	[REQ_SRC_PERMISSIONS] = &adapter_permissions,
	[REQ_SRC_GROUP] = &adapter_group,
	[REQ_SRC_ACCESS_PACKAGE] = &adapter_access,
};

const struct source_adapter *
adapter_for(enum req_source s)
{
	return (unsigned)s < REQ_SRC_MAX ? adapters[s] : NULL;
}

char *
source_key(enum req_source src, const char *gid)
{
	char *k;

	if (asprintf(&k, "%s:%s", req_source_name(src), gid) == -1)
		return NULL;
	return k;
}
