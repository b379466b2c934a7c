// tests/dist/cluster_support.hpp - real nodes on loopback for the distribution tests.
//
// One private epmd per test program, on a free port (ERL_EPMD_PORT is set for this
// process and every child), and Erlang/Elixir/coproc nodes started as child processes.
// Every child runs in its own process group under `timeout -s KILL`, so nothing outlives
// the test even if it crashes; the destructors kill what they started, by process group.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace cluster {

inline constexpr const char* kCookie = "coproc-test-cookie";

inline std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A child process (group) whose output goes to a log file.
class child {
 public:
  child() = default;
  child(const std::vector<std::string>& argv, std::string log) : log_(std::move(log)) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const char* log_path = log_.c_str();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      const int fd = ::open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int null = ::open("/dev/null", O_RDONLY);
      ::dup2(null, 0);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;
  child(child&& o) noexcept : pid_(std::exchange(o.pid_, -1)), log_(std::move(o.log_)) {}
  child& operator=(child&& o) noexcept {
    kill();
    pid_ = std::exchange(o.pid_, -1);
    log_ = std::move(o.log_);
    return *this;
  }
  ~child() { kill(); }

  void signal(int sig) const {
    if (pid_ > 0) ::kill(-pid_, sig);
  }
  void kill() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // Waits for the child to end by itself; its exit status, or -1 on timeout (then killed).
  int wait(std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (pid_ > 0 && std::chrono::steady_clock::now() < end) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill();
    return -1;
  }
  // The exit status if the child has ended, else -1 (it keeps running).
  int try_wait() {
    int status = 0;
    if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    return -1;
  }
  // Polls the log until it contains `text` (true) or the limit passes (false).
  [[nodiscard]] bool wait_for_output(const std::string& text, std::chrono::seconds limit) const {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (slurp(log_).find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  [[nodiscard]] std::string output() const { return slurp(log_); }
  [[nodiscard]] int pid() const { return pid_; }

 private:
  int pid_ = -1;
  std::string log_;
};

// The directory for logs and compiled Erlang modules.
inline const std::string& work_dir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/coproc-dist-XXXXXX";
    return std::string(::mkdtemp(tmpl));
  }();
  return dir;
}

// A private epmd for this test program.
class epmd {
 public:
  epmd() : port_(free_port()) {
    ::setenv("ERL_EPMD_PORT", std::to_string(port_).c_str(), 1);
    proc_ = child({"timeout", "-s", "KILL", "900", "epmd", "-port", std::to_string(port_)},
                  work_dir() + "/epmd.log");
    // Ready when it accepts connections.
    for (int i = 0; i < 200; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port_);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      ::close(fd);
      if (ok) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  [[nodiscard]] std::uint16_t port() const { return port_; }

  // Polls `epmd -names` until `alive` is registered (true) or the limit passes.
  [[nodiscard]] bool wait_registered(const std::string& alive, std::chrono::seconds limit) const {
    return wait_until_listed(alive, true, limit);
  }
  // Polls `epmd -names` until `alive` is no longer registered (true) or the limit passes.
  // epmd drops a killed node's name when it sees that node's connection close, which can
  // come after a restarted node's registration: a restart waits for this first.
  [[nodiscard]] bool wait_unregistered(const std::string& alive, std::chrono::seconds limit) const {
    return wait_until_listed(alive, false, limit);
  }

 private:
  [[nodiscard]] bool wait_until_listed(const std::string& alive, bool listed,
                                       std::chrono::seconds limit) const {
    const auto end = std::chrono::steady_clock::now() + limit;
    const std::string cmd = "epmd -port " + std::to_string(port_) + " -names";
    while (std::chrono::steady_clock::now() < end) {
      std::string out;
      if (FILE* f = ::popen(cmd.c_str(), "r"); f != nullptr) {
        char buf[512];
        while (std::fgets(buf, sizeof buf, f) != nullptr) out += buf;
        const int status = ::pclose(f);
        if (status != 0) out.clear();  // epmd did not answer: nothing is known
        else if ((out.find("name " + alive + " ") != std::string::npos) == listed) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  std::uint16_t port_;
  child proc_;
};

// `erl` running probe:start() (tests/dist/probe.erl) as NAME@127.0.0.1.
inline child erlang_probe(const std::string& name, const std::string& cookie = kCookie,
                          const std::vector<std::string>& extra = {}) {
  static const bool compiled = [] {
    const std::string cmd = "erlc -o " + work_dir() + " " COPROC_TEST_SOURCE_DIR "/dist/probe.erl";
    return std::system(cmd.c_str()) == 0;
  }();
  if (!compiled) return {};
  std::vector<std::string> argv{"timeout",    "-s",      "KILL",
                                "300",        "erl",     "-noshell",
                                "-noinput",   "-name",   name + "@127.0.0.1",
                                "-setcookie", cookie,    "-start_epmd",
                                "false",      "-kernel", "net_ticktime",
                                "4",          "-pa",     work_dir()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.insert(argv.end(), {"-eval", "probe:start()"});
  return child(argv, work_dir() + "/" + name + ".log");
}

}  // namespace cluster
