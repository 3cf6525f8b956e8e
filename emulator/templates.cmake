# Turns emulator/templates/*.json into a C table (cmake -P script).
# Inputs: SRC_DIR, OUT.
set(kinds
	"aws-policy|permissions|permissions-request-aws-policy.json"
	"aws-action|permissions|permissions-request-aws-action.json"
	"azure-role|permissions|permissions-request-azure-role.json"
	"azure-action|permissions|permissions-request-azure-action.json"
	"gcp-role|permissions|permissions-request-gcp-role.json"
	"gcp-action|permissions|permissions-request-gcp-action.json"
	"group-self-activate|group|group-request-self-activate.json")
set(body "/* Generated from emulator/templates by templates.cmake. */\n#include \"emu.h\"\n\nconst struct emu_template emu_templates[] = {\n")
foreach(k ${kinds})
	string(REPLACE "|" ";" parts "${k}")
	list(GET parts 0 kind)
	list(GET parts 1 src)
	list(GET parts 2 file)
	file(READ ${SRC_DIR}/${file} json)
	string(REPLACE "\\" "\\\\" json "${json}")
	string(REPLACE "\"" "\\\"" json "${json}")
	string(REPLACE "\n" "\\n\"\n\t    \"" json "${json}")
	if(src STREQUAL "group")
		set(csrc SRC_GROUP)
	else()
		set(csrc SRC_PERMISSIONS)
	endif()
	string(APPEND body "\t{ \"${kind}\", ${csrc},\n\t    \"${json}\" },\n")
endforeach()
string(APPEND body "};\nconst size_t emu_ntemplates = sizeof(emu_templates) / sizeof(emu_templates[0]);\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
