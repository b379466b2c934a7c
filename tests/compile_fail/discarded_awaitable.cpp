// Compile-fail cases: an awaitable that is created and then dropped without co_await.
// Each case n (-DCASE=n) must be rejected (the nodiscard warning, an error under
// -Werror=unused-result); with -DAWAITED -DALL, every case co_awaits and must compile,
// which shows that the failures come from the discard and not from a typo.
// Run by CTest through tests/compile_fail/expect_failure.cmake.
#include <coproc/coproc.hpp>

using namespace coproc;
using namespace std::chrono_literals;

namespace {

struct counter {
  int n = 0;
  int handle_call(atom<"get">) { return n; }
};

#ifdef AWAITED
#define USE(expr) (void)co_await expr
#else
#define USE(expr) expr
#endif

process body(pid p, server<counter> s, tcp_stream* conn, char* buf) {
#if defined(ALL) || CASE == 0
  USE(receive<int>());
#endif
#if defined(ALL) || CASE == 1
  USE(sleep_for(10ms));
#endif
#if defined(ALL) || CASE == 2
  USE(yield());
#endif
#if defined(ALL) || CASE == 3
  USE(call<int>(p, 1s, atom<"get">{}));
#endif
#if defined(ALL) || CASE == 4
  USE(call(s, 1s, atom<"get">{}));
#endif
#if defined(ALL) || CASE == 5
  auto t = async([] { return 1; });
  USE(await(t, 1s));
#endif
#if defined(ALL) || CASE == 6
  USE(receive([](int) {}, after(1s, [] {})));
#endif
#if defined(ALL) || CASE == 7
  USE(conn->read_some(std::span<char>(buf, 4)));
#endif
#if defined(ALL) || CASE == 8
  USE(process_info(p, 1s));
#endif
#if defined(ALL) || CASE == 9
  USE(top_mailboxes(3, 1s));
#endif
#if defined(ALL) || CASE == 10
  // A task whose handle is dropped can never be awaited: its result would be junk.
  USE(await(async([]() -> subroutine<int> { co_return 1; }), 1s));
#endif
  co_return;
}

}  // namespace

int main() {
  (void)body(pid{}, server<counter>{}, nullptr, nullptr);
}
