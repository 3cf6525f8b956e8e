/* libFuzzer target: the Graph responses the source adapters read, each
 * input read every way the daemon reads one: a permissionsRequestChanges
 * page (src_permissions.c), a PIM assignmentScheduleRequests or
 * access-package assignmentRequests page (lister.c), one request, the
 * steps of a permissions approval and the stages of an approval. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "parse.h"
#include "sources.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_items(struct json_object *value)
{
	struct perm_change pc;
	struct json_object *it;
	size_t i, n = json_object_array_length(value);

	for (i = 0; i < n; i++) {
		it = json_object_array_get_idx(value, i);
		parse_perm_change(it, &pc);
		adapter_str(it, "id");
		adapter_str(it, "status");
		adapter_str(it, "state");
		json_object_to_json_string_ext(it, JSON_C_TO_STRING_PLAIN);
	}
	adapter_find_id(value, "00000000-0000-0000-0000-000000000001");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *root, *value;
	struct step_info si;
	const char *next;
	char *s;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if ((root = parse_page(s, size, &value, &next)) != NULL) {
		fuzz_items(value);
		json_object_put(root);
	}
	if ((root = parse_json(s, size)) != NULL) {
		adapter_str(root, "statusDetail");
		adapter_str(root, "status");
		adapter_str(root, "state");
		json_object_put(root);
	}
	memset(&si, 0, sizeof(si));
	parse_steps(s, size, "value", &si);
	step_info_clear(&si);
	parse_steps(s, size, "stages", &si);
	step_info_clear(&si);
	free(s);
	return 0;
}
