# CoprocCheckHeaders.cmake - the coproc_checkheaders target: one translation unit per
# public header, each including only that header (twice, for the include guard), so a
# header that leans on another's includes fails here instead of in a user's program.
# Built with `cmake --build <dir> --target coproc_checkheaders`, and by `all` when
# COPROC_CHECK_HEADERS is ON.
option(COPROC_CHECK_HEADERS "Compile every public header on its own as part of 'all'" OFF)

file(GLOB_RECURSE _coproc_headers RELATIVE ${PROJECT_SOURCE_DIR}/include
  CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/include/coproc/*.hpp)
set(_coproc_header_tus "")
foreach(header ${_coproc_headers})
  string(MAKE_C_IDENTIFIER ${header} stem)
  set(tu ${CMAKE_CURRENT_BINARY_DIR}/checkheaders/${stem}.cpp)
  file(CONFIGURE OUTPUT ${tu} CONTENT "#include <${header}>\n#include <${header}>\n")
  list(APPEND _coproc_header_tus ${tu})
endforeach()

if(COPROC_CHECK_HEADERS)
  add_library(coproc_checkheaders OBJECT ${_coproc_header_tus})
else()
  add_library(coproc_checkheaders OBJECT EXCLUDE_FROM_ALL ${_coproc_header_tus})
endif()
target_include_directories(coproc_checkheaders PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_compile_features(coproc_checkheaders PRIVATE cxx_std_20)
coproc_target_options(coproc_checkheaders)
target_compile_options(coproc_checkheaders PRIVATE -Werror)
