// Compile-fail case: async() of a body returning `process` must be rejected with a
// message that says what to write instead (subroutine<T>). With -DCONTROL the same
// task written as subroutine<int> must compile. Run by CTest (expect_failure.cmake).
#include <coproc/coproc.hpp>

using namespace coproc;
using namespace std::chrono_literals;

namespace {

process caller() {
#ifdef CONTROL
  auto t = async([]() -> subroutine<int> { co_return 1; });
#else
  auto t = async([]() -> process { co_return; });
#endif
  (void)co_await await(t, 1s);
}

}  // namespace

int main() {
  (void)caller();
}
