# bench_policy: decision latency for generated policies over the fixtures.
add_executable(bench_policy ${CMAKE_CURRENT_LIST_DIR}/policy_bench.c)
target_link_libraries(bench_policy PRIVATE config)
