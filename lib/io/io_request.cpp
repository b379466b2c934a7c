#include "lib/io/io_request.hpp"

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <vector>

#include "coproc/detail/io_awaiter.hpp"
#include "coproc/io_error.hpp"
#include "coproc/receive.hpp"
#include "lib/core/runtime_impl.hpp"

namespace coproc {
namespace {

class io_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "coproc.io"; }
  std::string message(int c) const override {
    return c == static_cast<int>(io_errc::eof) ? "end of stream" : "unknown io error";
  }
};

}  // namespace

const std::error_category& io_category() noexcept {
  static const io_category_impl cat;
  return cat;
}

namespace detail {
namespace {

constexpr unsigned kMinShift = 12;  // 4 KiB
constexpr unsigned kClasses = 9;    // up to 1 MiB pooled
constexpr std::size_t kKeepPerClass = 64;

struct buffer_cache {
  std::vector<char*> free[kClasses];
  buffer_cache() = default;
  buffer_cache(const buffer_cache&) = delete;
  buffer_cache& operator=(const buffer_cache&) = delete;
  ~buffer_cache() {
    for (auto& v : free) {
      for (char* p : v) ::operator delete(p);
    }
  }
};
thread_local buffer_cache t_buffers;

unsigned class_of(std::size_t size) {
  unsigned cls = 0;
  while ((std::size_t{1} << (kMinShift + cls)) < size) ++cls;
  return cls;
}

}  // namespace

io_buffer::io_buffer(std::size_t size) : cls_(class_of(size == 0 ? 1 : size)) {
  if (cls_ < kClasses && !t_buffers.free[cls_].empty()) {
    p_ = t_buffers.free[cls_].back();
    t_buffers.free[cls_].pop_back();
    return;
  }
  p_ = static_cast<char*>(::operator new (std::size_t{1} << (kMinShift + cls_)));
}

io_buffer::~io_buffer() {
  if (p_ == nullptr) return;
#if !defined(COPROC_NO_POOL)
  if (cls_ < kClasses && t_buffers.free[cls_].size() < kKeepPerClass) {
    try {
      t_buffers.free[cls_].push_back(p_);
      return;
    } catch (...) {
    }
  }
#endif
  ::operator delete(p_);
}

void submit_cancel(loop& l, io_op* target) noexcept {
  l.io().cancel(*target);
}

void io_request::set_timeout(std::chrono::nanoseconds t) {
  if (t == std::chrono::nanoseconds::max()) return;
  deadline = deadline_after(now_ns(), std::max<std::int64_t>(0, t.count()));
}

void io_request::submit() {
  switch (kind) {
    case io_kind::recv:
    case io_kind::send:
      data = (owned.empty() ? buf.get() : owned.data()) + got;
      len = want - got;
      break;
    case io_kind::recvmsg:
    case io_kind::sendmsg:
      iov = {buf.get(), want};
      header = {};
      header.msg_name = &addr_storage;
      header.msg_namelen = kind == io_kind::recvmsg ? sizeof(addr_storage) : addrlen;
      header.msg_iov = &iov;
      header.msg_iovlen = 1;
      msg = &header;
      break;
    case io_kind::accept:
      addrlen = sizeof(addr_storage);
      break;
    case io_kind::accept_multishot:
    case io_kind::connect:
    case io_kind::recv_multishot:
      break;
  }
  if (!home->io().submit(*this)) {
    throw std::system_error(EBUSY, std::system_category(), "coproc: the I/O backend is full");
  }
  at = phase::in_flight;
}

void io_request::on_result(io_op* op, int res, unsigned /*flags*/) noexcept {
  auto* r = static_cast<io_request*>(op);
  if (r->at == phase::orphaned) {
    delete r;
    return;
  }
  // read_exact / write_all: go on from where the kernel stopped.
  if (r->exact && res > 0 && r->got + static_cast<std::size_t>(res) < r->want) {
    r->got += static_cast<std::size_t>(res);
    if (r->deadline == 0 || now_ns() < r->deadline) {
      try {
        r->submit();
        return;
      } catch (...) {
        res = -EBUSY;
      }
    } else {
      res = -ECANCELED;
    }
  } else if (res > 0 && r->exact) {
    r->got += static_cast<std::size_t>(res);
  }
  r->finish_with(res);
}

void io_request::finish_with(int res) noexcept {
  result = res;
  at = phase::done;
  pcb* p = waiter;
  p->resume_point = resume;
  home->make_runnable(p);
}

void io_request::retry_at(std::int64_t when) noexcept {
  at = phase::backing_off;
  retry.owner = this;
  retry.fire = [](timer_node* t) noexcept {
    io_request* r = static_cast<retry_timer*>(t)->owner;
    if (r->deadline != 0 && now_ns() >= r->deadline) {
      r->finish_with(-ECANCELED);  // its own timeout passed while it waited
      return;
    }
    try {
      r->submit();
    } catch (...) {
      r->finish_with(-EBUSY);
    }
  };
  arm_timer(&retry, deadline != 0 ? std::min(when, deadline) : when);
}

io_awaiter::~io_awaiter() {
  if (req_ == nullptr) return;
  switch (req_->at) {
    case io_request::phase::backing_off:  // between two submissions: nothing in the kernel
      disarm_timer(&req_->retry);
      delete req_;
      return;
    case io_request::phase::in_flight:
      // The process is gone but the kernel is not done: cancel, free on completion.
      req_->at = io_request::phase::orphaned;
      req_->home->io().cancel(*req_);
      return;
    case io_request::phase::made:
    case io_request::phase::done:
    case io_request::phase::orphaned:
      delete req_;
      return;
  }
}

void io_awaiter::await_suspend(std::coroutine_handle<> h) {
  pcb* p = t_current;
  if (p == nullptr || t_loop == nullptr) throw_outside_process("a socket operation");
  req_->waiter = p;
  req_->resume = h;
  req_->home = t_loop;
  req_->submit();
  p->state = proc_state::waiting;
}

int io_awaiter::finish() {
  const int res = req_->result;
  if (res >= 0) return res;
  if (res == -ECANCELED && req_->deadline != 0) {
    throw std::system_error(std::make_error_code(std::errc::timed_out),
                            "coproc: socket operation timed out");
  }
  throw std::system_error(-res, std::system_category(), "coproc: socket operation failed");
}

}  // namespace detail
}  // namespace coproc
