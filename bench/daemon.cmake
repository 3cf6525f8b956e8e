add_executable(store_fill ${CMAKE_CURRENT_LIST_DIR}/store_fill.c)
target_link_libraries(store_fill PRIVATE approvald_core approvald_nohooks)
