# approvald_cunit_test(NAME <exe> SOURCES <files...> LIBS <targets...>
#                      SUITES <suite...> [TIMEOUT <s>] [LABELS <l...>])
# Builds one CUnit executable (with the shared runner) and registers every
# suite as its own ctest entry, run as `<exe> --suite <suite>`.
function(approvald_cunit_test)
	cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;SUITES;LABELS" ${ARGN})
	if(NOT T_TIMEOUT)
		set(T_TIMEOUT 120)
	endif()
	add_executable(${T_NAME} ${T_SOURCES})
	target_link_libraries(${T_NAME} PRIVATE cu_runner ${T_LIBS})
	foreach(s ${T_SUITES})
		add_test(NAME ${T_NAME}.${s} COMMAND ${T_NAME} --suite ${s})
		set_tests_properties(${T_NAME}.${s} PROPERTIES TIMEOUT ${T_TIMEOUT}
			ENVIRONMENT "APPROVALD_BUILD_DIR=${CMAKE_BINARY_DIR};APPROVALD_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
		if(T_LABELS)
			set_tests_properties(${T_NAME}.${s} PROPERTIES LABELS "${T_LABELS}")
		endif()
	endforeach()
endfunction()
