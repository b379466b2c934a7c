// Compile-fail case: a gen_server handle_call that returns noreply but takes no
// reply_to<R> leaves the caller's reply type unknown; it must be rejected with a message
// that says to take reply_to<R>. With -DCONTROL the handler takes one and must compile.
// Run by CTest (expect_failure.cmake).
#include <coproc/coproc.hpp>

using namespace coproc;
using namespace std::chrono_literals;

namespace {

struct later {
#ifdef CONTROL
  noreply handle_call(atom<"x">, reply_to<int> from) {
    reply(from, 1);
    return {};
  }
#else
  noreply handle_call(atom<"x">) { return {}; }
#endif
};

process caller(server<later> s) {
  (void)co_await call(s, 1s, atom<"x">{});
}

}  // namespace

int main() {
  (void)caller(server<later>{});
}
