// How many cores (loops) a runtime starts when options.cores is 0.
// - One per CPU of the process's affinity mask (a container's --cpuset-cpus, taskset),
//   not one per CPU of the host: a runtime limited to one CPU starts one loop.
// - COPROC_CORES in the environment overrides that, and options.cores overrides both.
// - A COPROC_CORES that is not a count from 1 to 1022 makes coproc::run log a clear
//   error and return 1.
// Each case restores the environment, the affinity mask and the log handler it changed.
#include <gtest/gtest.h>
#include <sched.h>

#include <coproc/coproc.hpp>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

using namespace coproc;

namespace {

class scoped_env {
 public:
  scoped_env(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;
  ~scoped_env() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Narrows the calling thread's affinity to its first n CPUs, and restores it.
class scoped_affinity {
 public:
  explicit scoped_affinity(unsigned n) {
    CPU_ZERO(&old_);
    ok_ = sched_getaffinity(0, sizeof(old_), &old_) == 0;
    if (!ok_) return;
    cpu_set_t narrow;
    CPU_ZERO(&narrow);
    unsigned taken = 0;
    for (int c = 0; c < CPU_SETSIZE && taken < n; ++c) {
      if (CPU_ISSET(c, &old_)) {
        CPU_SET(c, &narrow);
        ++taken;
      }
    }
    ok_ = taken == n && sched_setaffinity(0, sizeof(narrow), &narrow) == 0;
  }
  scoped_affinity(const scoped_affinity&) = delete;
  scoped_affinity& operator=(const scoped_affinity&) = delete;
  ~scoped_affinity() { sched_setaffinity(0, sizeof(old_), &old_); }
  [[nodiscard]] bool ok() const noexcept { return ok_; }

 private:
  cpu_set_t old_;
  bool ok_ = false;
};

unsigned usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  return sched_getaffinity(0, sizeof(set), &set) == 0 ? static_cast<unsigned>(CPU_COUNT(&set)) : 0;
}

// The cores a runtime with these options starts, and that it runs a process.
unsigned cores_started(options opts) {
  runtime rt{opts};
  bool ran = false;
  EXPECT_EQ(rt.run([&]() -> process {
    ran = true;
    co_return;
  }),
            0);
  EXPECT_TRUE(ran);
  return rt.cores();
}

}  // namespace

TEST(Cores, TheDefaultIsOneLoopPerCpuOfTheAffinityMask) {
  const scoped_env no_override("COPROC_CORES", nullptr);
  EXPECT_EQ(cores_started(options{}), usable_cpus());
  {
    const scoped_affinity one(1);
    ASSERT_TRUE(one.ok());
    EXPECT_EQ(cores_started(options{}), 1U);
  }
  if (usable_cpus() >= 2) {
    const scoped_affinity two(2);
    ASSERT_TRUE(two.ok());
    EXPECT_EQ(cores_started(options{}), 2U);
  }
}

TEST(Cores, PinnedLoopsStayInsideTheAffinityMask) {
  // Loop i goes to the i-th CPU of the mask, never to a CPU the process may not use
  // (which sched_setaffinity would refuse, leaving the loop unpinned).
  const scoped_env no_override("COPROC_CORES", nullptr);
  const scoped_affinity one(1);
  ASSERT_TRUE(one.ok());
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  ASSERT_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
  std::vector<int> ran_on(3, -1);
  runtime rt{options{.cores = 3, .pin_threads = true}};
  EXPECT_EQ(rt.run([&]() -> process {
    // Each core's process reports the CPU it runs on as a message (no shared memory).
    const pid me = self();
    for (unsigned c = 0; c < 3; ++c) {
      spawn_on(c, [me, c] { send(me, static_cast<int>(c), sched_getcpu()); });
    }
    for (int i = 0; i < 3; ++i) {
      co_await receive([&](int core, int cpu) { ran_on[static_cast<std::size_t>(core)] = cpu; },
                       after(std::chrono::seconds(10), [] {}));
    }
  }),
            0);
  for (unsigned c = 0; c < 3; ++c) {
    ASSERT_GE(ran_on[c], 0) << "core " << c;
    EXPECT_TRUE(CPU_ISSET(ran_on[c], &allowed)) << "core " << c << " ran on CPU " << ran_on[c];
  }
}

TEST(Cores, CoprocCoresOverridesTheDefaultAndOptionsOverrideIt) {
  {
    const scoped_env three("COPROC_CORES", "3");
    EXPECT_EQ(cores_started(options{}), 3U);
    EXPECT_EQ(cores_started(options{.cores = 2}), 2U);
  }
  const scoped_env empty("COPROC_CORES", "");  // set but empty: as if unset
  EXPECT_EQ(cores_started(options{}), usable_cpus());
}

TEST(Cores, AnInvalidCoprocCoresMakesRunReturnOneWithAClearError) {
  std::vector<std::string> lines;
  set_log_handler([&lines](log_level, std::string_view text) { lines.emplace_back(text); });
  for (const char* bad : {"0", "abc", "2x", "-1", "1023", "99999999999", " 2"}) {
    lines.clear();
    const scoped_env env("COPROC_CORES", bad);
    const int rc = coproc::run([]() -> process { co_return; });
    EXPECT_EQ(rc, 1) << "COPROC_CORES=" << bad;
    ASSERT_EQ(lines.size(), 1U) << "COPROC_CORES=" << bad;
    EXPECT_NE(lines[0].find("COPROC_CORES=" + std::string(bad) + " is not a core count"),
              std::string::npos)
        << lines[0];
  }
  set_log_handler({});
}
