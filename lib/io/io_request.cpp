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

// Completions we only count: linked timeouts and cancel requests.
void on_side_cqe(io_completion* /*c*/, int /*res*/, unsigned /*flags*/) noexcept {
  if (t_loop != nullptr) t_loop->op_finished();
}
io_completion g_side_cqe{&on_side_cqe};

}  // namespace

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

void submit_cancel(loop& l, io_completion* target) noexcept {
  if (io_uring_sqe* sqe = l.get_sqe(); sqe != nullptr) {
    io_uring_prep_cancel(sqe, target, 0);
    io_uring_sqe_set_data(sqe, &g_side_cqe);
    l.op_started();
  }
}

void io_request::set_timeout(std::chrono::nanoseconds t) {
  if (t == std::chrono::nanoseconds::max()) return;
  deadline = deadline_after(now_ns(), std::max<std::int64_t>(0, t.count()));
}

void io_request::submit() {
  if (deadline != 0) home->make_room(2);  // the operation and its linked timeout together
  io_uring_sqe* sqe = home->get_sqe();
  if (sqe == nullptr) throw std::system_error(EBUSY, std::system_category(), "coproc: ring full");
  switch (kind) {
    case op::accept:
      addrlen = sizeof(addr);
      io_uring_prep_accept(sqe, fd, reinterpret_cast<sockaddr*>(&addr), &addrlen, SOCK_CLOEXEC);
      break;
    case op::connect:
      io_uring_prep_connect(sqe, fd, reinterpret_cast<sockaddr*>(&addr), addrlen);
      break;
    case op::recv:
      io_uring_prep_recv(sqe, fd, buf.get() + got, want - got, 0);
      break;
    case op::send:
      io_uring_prep_send(sqe, fd, buf.get() + got, want - got, MSG_NOSIGNAL);
      break;
    case op::recvmsg:
      iov = {buf.get(), want};
      msg = {};
      msg.msg_name = &addr;
      msg.msg_namelen = sizeof(addr);
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      io_uring_prep_recvmsg(sqe, fd, &msg, 0);
      break;
    case op::sendmsg:
      iov = {buf.get(), want};
      msg = {};
      msg.msg_name = &addr;
      msg.msg_namelen = addrlen;
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      io_uring_prep_sendmsg(sqe, fd, &msg, MSG_NOSIGNAL);
      break;
  }
  io_uring_sqe_set_data(sqe, static_cast<io_completion*>(this));
  home->op_started();
  if (deadline != 0) {
    const std::int64_t left = std::max<std::int64_t>(0, deadline - now_ns());
    ts = {left / 1'000'000'000, left % 1'000'000'000};
    io_uring_sqe* t = home->get_sqe();
    if (t != nullptr) {
      sqe->flags |= IOSQE_IO_LINK;
      io_uring_prep_link_timeout(t, &ts, 0);
      io_uring_sqe_set_data(t, &g_side_cqe);
      home->op_started();
    }
  }
  submitted = true;
}

void io_request::on_complete(io_completion* c, int res, unsigned /*flags*/) noexcept {
  auto* r = static_cast<io_request*>(c);
  r->home->op_finished();
  if (r->orphaned) {
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
  done = true;
  pcb* p = waiter;
  p->resume_point = resume;
  home->make_runnable(p);
}

void io_request::retry_at(std::int64_t when) noexcept {
  submitted = false;
  backing_off = true;
  retry.owner = this;
  retry.fire = [](timer_node* t) noexcept {
    io_request* r = static_cast<retry_timer*>(t)->owner;
    r->backing_off = false;
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
  if (req_->backing_off) {  // between two submissions: nothing in the kernel
    disarm_timer(&req_->retry);
    delete req_;
    return;
  }
  if (req_->submitted && !req_->done) {
    // The process is gone but the kernel is not done: cancel, free on completion.
    req_->orphaned = true;
    if (io_uring_sqe* sqe = req_->home->get_sqe(); sqe != nullptr) {
      io_uring_prep_cancel(sqe, static_cast<io_completion*>(req_), 0);
      io_uring_sqe_set_data(sqe, &g_side_cqe);
      req_->home->op_started();
    }
    return;
  }
  delete req_;
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
