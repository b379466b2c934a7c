#include <gtest/gtest.h>

#include <coproc/coproc.hpp>

using namespace coproc;
using namespace std::chrono_literals;

TEST(Spawn, MainProcessReturnsZero) {
  int rc = coproc::run([]() -> process {
    send(self(), 42);
    int v = co_await receive<int>();
    EXPECT_EQ(v, 42);
  }, options{.cores = 2});
  EXPECT_EQ(rc, 0);
}
