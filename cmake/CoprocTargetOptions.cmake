# CoprocTargetOptions.cmake - warnings and sanitizers, applied per target.
#
# COPROC_SANITIZE selects one sanitizer set for every coproc target:
#   ""                    none
#   "address;undefined"   ASan + UBSan (+ LSan, which ASan includes)
#   "thread"              TSan
# Sanitized builds also define COPROC_NO_POOL, so ASan sees each frame's and each
# message's real lifetime instead of the per-thread pool's.
set(COPROC_SANITIZE "" CACHE STRING "Sanitizers for coproc targets: '', 'address;undefined' or 'thread'")

function(coproc_target_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-interference-size)
  endif()
  # Every awaitable is [[nodiscard]]: a forgotten co_await is an error in our own code
  # (both g++ and clang file the nodiscard warning under -Wunused-result).
  target_compile_options(${target} PRIVATE -Werror=unused-result)
  if(COPROC_SANITIZE)
    list(JOIN COPROC_SANITIZE "," san)
    target_compile_options(${target} PRIVATE -fsanitize=${san} -fno-omit-frame-pointer -g)
    target_link_options(${target} PRIVATE -fsanitize=${san})
    target_compile_definitions(${target} PRIVATE COPROC_NO_POOL)
    if("thread" IN_LIST COPROC_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      # TSan does not model atomic_thread_fence; our fences pair with seq_cst operations
      # that it does see, so GCC's -Wtsan note is expected.
      target_compile_options(${target} PRIVATE -Wno-tsan)
    endif()
  endif()
endfunction()
