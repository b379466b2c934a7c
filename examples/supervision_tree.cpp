// examples/supervision_tree.cpp - a small tree that survives crashes and says so.
//
//   top (one_for_one)
//   ├── counter   a gen_server; a bad request makes it throw
//   └── workers (rest_for_one)
//       ├── fetcher
//       └── parser   restarted whenever fetcher restarts
#include <coproc/coproc.hpp>
#include <cstdio>
#include <string>

using namespace coproc;
using namespace std::chrono_literals;

namespace {

struct counter {
  long n = 0;
  long handle_call(atom<"add">, long by) {
    if (by < 0) throw std::invalid_argument("negative increments are not allowed");
    return n += by;
  }
};

process worker(std::string name) {
  std::printf("  [%s] started as %s\n", name.c_str(), to_string(self()).c_str());
  for (;;) {
    co_await receive(
        [&](atom<"crash">) { throw std::runtime_error(name + " crashed on purpose"); });
  }
}

subroutine<std::string> show(pid sup) {
  std::string out;
  for (const auto& [id, p] : co_await which_children(sup, 1s)) {
    out += "    " + id + " = " + (p ? to_string(p) : std::string("(none)")) + "\n";
  }
  co_return out;
}

process demo() {
  set_crash_reporter([](const crash_report& r) {
    std::printf("  crash report: %s\n", format_crash_report(r).c_str());
  });
  server<counter> cnt;
  pid workers;
  pid top = start_supervisor(
      {
          {.id = "counter",
           .start =
               [&cnt] {
                 cnt = start_link_server<counter>();
                 register_name("counter", cnt.id);
                 return cnt.id;
               }},
          {.id = "workers",
           .start =
               [&workers] {
                 workers = start_supervisor(
                     {{.id = "fetcher",
                       .start = [] { return spawn_link(worker, std::string("fetcher")); }},
                      {.id = "parser",
                       .start = [] { return spawn_link(worker, std::string("parser")); }}},
                     {.strategy = strategy::rest_for_one});
                 return workers;
               }},
      },
      {.strategy = strategy::one_for_one, .max_restarts = 5, .max_period = 10s});
  co_await sleep_for(20ms);
  // Each awaited value is named before use: see the README's "g++ 12 pitfall".
  const std::string tree = co_await show(top);
  std::printf("tree started:\n%s", tree.c_str());

  std::printf("\n1. counter: add 2, then a bad request that makes it throw\n");
  const long two = co_await call(cnt, 1s, atom<"add">{}, 2L);
  std::printf("  add 2 -> %ld\n", two);
  try {
    co_await call(cnt, 1s, atom<"add">{}, -1L);
  } catch (const call_error& e) {
    std::printf("  the caller got call_error: %s\n", e.what());
  }
  co_await sleep_for(20ms);
  const pid again = whereis("counter");
  const long five = co_await call(server<counter>{again}, 1s, atom<"add">{}, 5L);
  std::printf("  restarted counter %s starts from 0: add 5 -> %ld\n", to_string(again).c_str(),
              five);

  std::printf("\n2. fetcher crashes: rest_for_one restarts fetcher and parser\n");
  const auto before_crash = co_await which_children(workers, 1s);
  pid fetcher = before_crash[0].second;
  send(fetcher, atom<"crash">{});
  co_await sleep_for(20ms);
  const std::string after_crash = co_await show(workers);
  std::printf("%s", after_crash.c_str());

  std::printf("\n3. parser is killed: only parser restarts\n");
  const auto before_kill = co_await which_children(workers, 1s);
  exit(before_kill[1].second, exit_reason::kill());
  co_await sleep_for(20ms);
  const std::string after_kill = co_await show(workers);
  std::printf("%s", after_kill.c_str());

  std::printf("\n4. shut the tree down (children first, in reverse start order)\n");
  const monitor_ref ref = monitor(top);
  unlink(top);
  exit(top, exit_reason::shutdown());
  co_await receive(
      when([ref](atom<"DOWN">, monitor_ref r, pid, const exit_reason&) { return r == ref; },
           [](atom<"DOWN">, monitor_ref, pid, exit_reason why) {
             std::printf("  top supervisor ended: %s\n", why.to_string().c_str());
           }),
      after(5s, [] { std::printf("  top supervisor did not stop\n"); }));
  set_crash_reporter({});
}

}  // namespace

int main() {
  return coproc::run(demo, options{.cores = 2});
}
