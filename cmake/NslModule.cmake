# nsl_module(NAME SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...] [TESTS ...] [TEST_DEPS ...])
#
# Declares the library target nsl_<NAME> (alias nsl::<NAME>) for one folder of src/, with the
# project's warning set, and one GoogleTest executable nsl_<NAME>_test for the *_test.cpp files
# beside it, registered with ctest. Every module is declared the same way through this helper.
function(nsl_module NAME)
  cmake_parse_arguments(M "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS;TESTS;TEST_DEPS" ${ARGN})
  set(target nsl_${NAME})
  add_library(${target} STATIC ${M_SOURCES})
  add_library(nsl::${NAME} ALIAS ${target})
  target_include_directories(${target} PUBLIC ${NSL_INCLUDE_ROOT})
  target_compile_options(${target} PRIVATE ${NSL_WARNINGS})
  target_link_libraries(${target} PUBLIC ${M_PUBLIC_DEPS} PRIVATE ${M_PRIVATE_DEPS})
  if(NSL_BUILD_TESTS AND M_TESTS)
    add_executable(${target}_test ${M_TESTS})
    target_compile_options(${target}_test PRIVATE ${NSL_WARNINGS})
    target_link_libraries(${target}_test PRIVATE ${target} ${M_TEST_DEPS} GTest::gtest_main)
    add_test(NAME ${NAME} COMMAND ${target}_test --gtest_brief=1)
    set_tests_properties(${NAME} PROPERTIES TIMEOUT 300)
  endif()
endfunction()
