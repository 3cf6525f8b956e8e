# graph-emulator throughput benchmark: bench/bench-emulator.sh drives the
# built binary with wrk (built here, run by `make bench`).
if(TARGET graph-emulator)
	add_custom_target(bench-emulator DEPENDS graph-emulator
		COMMENT "run: bench/bench-emulator.sh ${CMAKE_BINARY_DIR}")
endif()
