// Skynet: a tree of processes, ten children per node, the leaves sending their number
// up. The sum is exact only if every process ran and every message arrived once.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>

#include <coproc/coproc.hpp>

#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;

namespace {

process skynet(pid parent, std::int64_t num, std::int64_t size) {
  if (size == 1) {
    send(parent, num);
    co_return;
  }
  const std::int64_t sub = size / 10;
  for (std::int64_t i = 0; i < 10; ++i) spawn(skynet, self(), num + i * sub, sub);
  std::int64_t sum = 0;
  for (int i = 0; i < 10; ++i) sum += co_await receive<std::int64_t>();
  send(parent, sum);
}

}  // namespace

TEST(Skynet, AMillionLeafTreeSumsExactly) {
  const std::int64_t leaves = coproc_test::scaled(1'000'000, 100'000);
  const std::int64_t expected = leaves * (leaves - 1) / 2;  // 499999500000 or 4999950000
  std::int64_t sum = -1;
  std::uint64_t spawned = 0;
  {
    runtime rt{options{.cores = 2}};
    int rc = rt.run([&]() -> process {
      spawn(skynet, self(), std::int64_t{0}, leaves);
      sum = co_await receive([](std::int64_t v) { return v; },
                             after(120s, [] { return std::int64_t{-1}; }));
    });
    EXPECT_EQ(rc, 0);
    spawned = rt.stats(0).spawned + rt.stats(1).spawned;
  }
  EXPECT_EQ(sum, expected);
  // Every node of the tree was a process: leaves + leaves/10 + ... + 1, plus main.
  std::uint64_t nodes = 0;
  for (std::int64_t n = leaves; n >= 1; n /= 10) nodes += static_cast<std::uint64_t>(n);
  EXPECT_EQ(spawned, nodes + 1);
}

TEST(Skynet, ASmallTreeOnOneCoreSumsExactly) {
  std::int64_t sum = -1;
  int rc = coproc::run(
      [&]() -> process {
        spawn(skynet, self(), std::int64_t{0}, std::int64_t{10'000});
        sum = co_await receive([](std::int64_t v) { return v; },
                               after(60s, [] { return std::int64_t{-1}; }));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(sum, std::int64_t{10'000} * 9'999 / 2);
}
