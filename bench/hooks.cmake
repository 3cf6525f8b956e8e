# bench_hooks: webhook -> Graph decision PATCH latency (bench/bench-hooks.sh).
add_executable(bench_hooks ${CMAKE_CURRENT_LIST_DIR}/hooks_bench.c)
target_link_libraries(bench_hooks PRIVATE PkgConfig::CURL PkgConfig::JSONC
	PkgConfig::OPENSSL)
