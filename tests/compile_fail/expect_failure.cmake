# cmake -DCXX=... -DFLAGS=... -DSOURCE=... -DCASE=n [-DEXPECT=pass] [-DREGEX=...]
#       -P expect_failure.cmake
# Compiles SOURCE with -DCASE=n. By default it passes only when the compiler rejects
# the file with a diagnostic matching REGEX (default: "nodiscard"); EXPECT=pass (the
# control) passes only when the file compiles cleanly.
separate_arguments(flags UNIX_COMMAND "${FLAGS}")
if(NOT DEFINED REGEX)
  set(REGEX "nodiscard")
endif()
execute_process(
  COMMAND ${CXX} ${flags} -DCASE=${CASE} -fsyntax-only ${SOURCE}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
if(EXPECT STREQUAL "pass")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "case ${CASE} should compile, but did not:\n${out}")
  endif()
else()
  if(rc EQUAL 0)
    message(FATAL_ERROR "case ${CASE} compiled; a discarded awaitable must be an error")
  endif()
  if(NOT out MATCHES "${REGEX}")
    message(FATAL_ERROR "case ${CASE} failed, but not with a diagnostic matching '${REGEX}':\n${out}")
  endif()
endif()
