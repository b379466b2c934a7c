#!/usr/bin/env bash
# Builds and runs every test: a normal build, ASan+UBSan, TSan,
# and a consumer project that uses an installed coproc through find_package.
# Usage: scripts/test.sh            (all of it)
#        scripts/test.sh normal     (one of: normal epoll asan asan-epoll tsan install fuzz)
#        "epoll" and "asan-epoll" run the same suite (examples included) with io_uring
#        denied by a seccomp filter, as in a default Docker container, so every test
#        runs on the epoll fallback; they reuse the normal and the ASan build.
#        scripts/test.sh clang      (the suite built with clang 19 and libstdc++)
#        scripts/test.sh headers    (each public header compiled on its own, by g++ 12,
#                                    clang 14 and clang 19)
# FUZZ_SECONDS (default 60) bounds the libFuzzer run of the HTTP parser.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)
which=${1:-all}

configure_and_build() {  # dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DCOPROC_BUILD_BENCH=OFF "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

if [[ $which == all || $which == normal || $which == pitfall ]]; then
  echo "=== g++ 12 pitfall: no co_await inside a braced initializer or an argument list"
  python3 scripts/check-co-await-pitfall.py include lib examples
fi

if [[ $which == all || $which == normal ]]; then
  echo "=== normal build (RelWithDebInfo), every example driven over loopback included"
  configure_and_build build/test-normal -DCMAKE_BUILD_TYPE=RelWithDebInfo
  (cd build/test-normal && ctest --output-on-failure -j "$jobs" --timeout 300)
fi

# The whole suite again, with io_uring_setup/enter/register denied (EPERM) for ctest and
# everything it starts: the runtime falls back to epoll. Compiler checks are not rerun.
without_io_uring() {  # build dir, ctest args...
  local dir=$1; shift
  (cd "$dir" && COPROC_EXPECT_BACKEND=epoll tests/without_io_uring ctest --output-on-failure \
    -j "$jobs" -LE compile_fail "$@")
}

if [[ $which == all || $which == epoll ]]; then
  echo "=== normal build on the epoll backend (io_uring blocked by seccomp)"
  configure_and_build build/test-normal -DCMAKE_BUILD_TYPE=RelWithDebInfo
  without_io_uring build/test-normal --timeout 300
fi

if [[ $which == all || $which == asan ]]; then
  echo "=== ASan + UBSan"
  configure_and_build build/test-asan -DCMAKE_BUILD_TYPE=Debug -DCOPROC_SANITIZE="address;undefined" \
    -DCOPROC_BUILD_EXAMPLES=ON
  (cd build/test-asan &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --output-on-failure -j "$jobs" --timeout 600)
fi

if [[ $which == all || $which == asan-epoll ]]; then
  echo "=== ASan + UBSan on the epoll backend (io_uring blocked by seccomp)"
  configure_and_build build/test-asan -DCMAKE_BUILD_TYPE=Debug -DCOPROC_SANITIZE="address;undefined" \
    -DCOPROC_BUILD_EXAMPLES=ON
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    without_io_uring build/test-asan --timeout 600
fi

if [[ $which == all || $which == tsan ]]; then
  echo "=== TSan (every test)"
  configure_and_build build/test-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOPROC_SANITIZE=thread \
    -DCOPROC_BUILD_EXAMPLES=OFF
  (cd build/test-tsan &&
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest --output-on-failure -j "$jobs" --timeout 600)
fi

if [[ $which == all || $which == install ]]; then
  echo "=== install + find_package(coproc) consumer"
  rm -rf build/install-prefix build/consumer
  configure_and_build build/test-install -DCMAKE_BUILD_TYPE=Release -DCOPROC_BUILD_TESTS=OFF \
    -DCOPROC_BUILD_EXAMPLES=OFF -DCMAKE_INSTALL_PREFIX="$PWD/build/install-prefix"
  cmake --install build/test-install >/dev/null
  cmake -S tests/consumer -B build/consumer -G Ninja -DCMAKE_PREFIX_PATH="$PWD/build/install-prefix" >/dev/null
  cmake --build build/consumer
  build/consumer/consumer
fi
if [[ $which == all || $which == fuzz ]]; then
  echo "=== libFuzzer: HTTP request parser, ${FUZZ_SECONDS:-60} s"
  scripts/install-deps.sh clang libclang-rt-14-dev
  mkdir -p build/fuzz/corpus
  cp tests/fuzz/corpus/http/* build/fuzz/corpus/
  clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -Iinclude -I. \
    tests/fuzz/http_parser_fuzz.cpp lib/http/parser.cpp -o build/fuzz/http_parser_fuzz
  build/fuzz/http_parser_fuzz -max_total_time="${FUZZ_SECONDS:-60}" -print_final_stats=1 \
    build/fuzz/corpus 2>&1 | tail -n 4
  echo "=== libFuzzer: Erlang term decoder, $(( ${FUZZ_SECONDS:-60} / 2 )) s"
  mkdir -p build/fuzz/term-corpus
  clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -Iinclude \
    tests/fuzz/term_decode_fuzz.cpp lib/dist/term_codec.cpp -o build/fuzz/term_decode_fuzz
  build/fuzz/term_decode_fuzz -max_total_time="$(( ${FUZZ_SECONDS:-60} / 2 ))" \
    -print_final_stats=1 build/fuzz/term-corpus 2>&1 | tail -n 4
  echo "=== libFuzzer: distribution handshake and epmd parsers, $(( ${FUZZ_SECONDS:-60} / 3 )) s"
  mkdir -p build/fuzz/dist-corpus
  cp tests/fuzz/corpus/dist/* build/fuzz/dist-corpus/
  clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -I. \
    tests/fuzz/dist_handshake_fuzz.cpp lib/dist/wire.cpp lib/dist/md5.cpp \
    -o build/fuzz/dist_handshake_fuzz
  build/fuzz/dist_handshake_fuzz -max_total_time="$(( ${FUZZ_SECONDS:-60} / 3 ))" \
    -print_final_stats=1 build/fuzz/dist-corpus 2>&1 | tail -n 4
fi
if [[ $which == all || $which == clang ]]; then
  echo "=== clang 19 build (libstdc++), every test"
  scripts/install-deps.sh clang-19
  # Release without debug info: the cheapest build that still runs every test.
  configure_and_build build/test-clang -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++-19 \
    -DCOPROC_BUILD_EXAMPLES=OFF
  (cd build/test-clang && ctest --output-on-failure -j "$jobs" --timeout 300)
fi

if [[ $which == all || $which == headers ]]; then
  echo "=== every public header on its own: g++, clang 14, clang 19"
  scripts/install-deps.sh clang clang-19
  for cxx in g++ clang++-14 clang++-19; do
    cmake -S . -B "build/test-headers-$cxx" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" \
      -DCOPROC_BUILD_TESTS=OFF -DCOPROC_BUILD_BENCH=OFF -DCOPROC_BUILD_EXAMPLES=OFF >/dev/null
    cmake --build "build/test-headers-$cxx" -j "$jobs" --target coproc_checkheaders
  done
fi
echo "=== all requested test runs passed"
