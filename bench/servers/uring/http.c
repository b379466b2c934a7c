// HTTP/1.1 keep-alive hello server on raw liburing (2.3), the io_uring line for
// http_hello. The setup is echo.c's: one thread per core (or argv[2]), each with
// its own ring (IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN, falling back
// to no flags; URING_DEFER_TASKRUN=1 adds IORING_SETUP_DEFER_TASKRUN) and its own
// SO_REUSEPORT listener; a multishot accept per ring, a multishot recv per
// connection into a provided-buffer ring. Each received buffer is parsed at once
// and handed back to the ring: every complete request head ("\r\n\r\n") is answered
// (GET / -> 200 "Hello, World!", anything else 404) by appending the answer to the
// connection's pending output; a partial head is kept in a per-connection buffer.
// One send per connection is in flight at a time, from a buffer that is not touched
// until it completes (answers arriving meanwhile go to a second buffer, sent next),
// so pipelined requests cost one send per batch. The answer has the headers
// coproc's examples/http_hello sends (Date, Server, Content-Type, Content-Length)
// with Server: uring; Date is formatted once a second per thread. Request bodies
// are not read (GET only); HTTP/1.0 or "Connection: close" closes after the answer.
// SIGTERM/SIGINT end the process.
//   http PORT [THREADS]
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
  ENTRIES = 4096,  // SQ entries; the CQ gets 4x
  NBUFS = 4096,    // provided buffers per ring (a power of two)
  BUFSZ = 2048,    // bytes per buffer
  BGID = 0,        // buffer group id (each ring has its own)
  MAXFD = 65536,   // connection table size (by fd)
  INCAP = 16384,   // largest request head we keep
};
enum { OP_ACCEPT = 1, OP_RECV = 2, OP_SEND = 3 };

static inline uint64_t mkud(int op, int fd) {
  return (uint64_t)op << 56 | (uint32_t)fd;
}
static inline int ud_op(uint64_t u) {
  return (int)(u >> 56);
}
static inline int ud_fd(uint64_t u) {
  return (int)(uint32_t)u;
}

struct obuf {
  char* p;
  int len, cap;
};
struct conn {
  char* in;  // partial request head (INCAP bytes, allocated when needed)
  int inlen;
  struct obuf out[2];  // out[cur]: being sent (from `sent` on); out[cur ^ 1]: pending
  int cur, sent;
  unsigned char sending, recv_armed, closing, wait_buf, close_after;
};

struct worker {
  struct io_uring ring;
  struct io_uring_buf_ring* br;
  char* bufs;
  struct conn* conns;      // MAXFD entries
  int *waiting, nwaiting;  // connections waiting for a buffer (ENOBUFS)
  int returned;            // buffers went back to the ring in this batch
  int lfd;
  time_t second;  // when ok/not_found were formatted
  char ok[256], not_found[256];
  int ok_len, not_found_len;
};

static void die(const char* what, int err) {
  fprintf(stderr, "uring http: %s: %s\n", what, strerror(err));
  exit(1);
}

static void refresh_answers(struct worker* w) {
  time_t now = time(NULL);
  if (now == w->second) return;
  w->second = now;
  struct tm tm;
  gmtime_r(&now, &tm);
  char date[64];
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  static const char fmt[] =
      "HTTP/1.1 %s\r\nDate: %s\r\nServer: uring\r\n"
      "Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s";
  w->ok_len = snprintf(w->ok, sizeof w->ok, fmt, "200 OK", date, 13, "Hello, World!");
  w->not_found_len =
      snprintf(w->not_found, sizeof w->not_found, fmt, "404 Not Found", date, 9, "Not Found");
}

static struct io_uring_sqe* get_sqe(struct worker* w) {
  struct io_uring_sqe* s;
  while (!(s = io_uring_get_sqe(&w->ring))) io_uring_submit(&w->ring);
  return s;
}

static void arm_accept(struct worker* w) {
  struct io_uring_sqe* s = get_sqe(w);
  io_uring_prep_multishot_accept(s, w->lfd, NULL, NULL, 0);
  io_uring_sqe_set_data64(s, mkud(OP_ACCEPT, w->lfd));
}

static void arm_recv(struct worker* w, int fd) {
  struct io_uring_sqe* s = get_sqe(w);
  io_uring_prep_recv_multishot(s, fd, NULL, 0, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = BGID;
  io_uring_sqe_set_data64(s, mkud(OP_RECV, fd));
  w->conns[fd].recv_armed = 1;
}

static void send_cur(struct worker* w, int fd) {
  struct conn* c = &w->conns[fd];
  struct obuf* o = &c->out[c->cur];
  struct io_uring_sqe* s = get_sqe(w);
  io_uring_prep_send(s, fd, o->p + c->sent, o->len - c->sent, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(s, mkud(OP_SEND, fd));
  c->sending = 1;
}

// Start sending the pending output if nothing is in flight.
static void flush(struct worker* w, int fd) {
  struct conn* c = &w->conns[fd];
  if (c->sending || c->out[c->cur ^ 1].len == 0) return;
  c->cur ^= 1;
  c->sent = 0;
  send_cur(w, fd);
}

static int append(struct obuf* o, const char* p, int n) {
  if (o->len + n > o->cap) {
    int cap = o->cap ? o->cap : 1024;
    while (cap < o->len + n) cap *= 2;
    char* q = realloc(o->p, (size_t)cap);
    if (!q) return -1;
    o->p = q;
    o->cap = cap;
  }
  memcpy(o->p + o->len, p, (size_t)n);
  o->len += n;
  return 0;
}

static void recycle(struct worker* w, int b) {
  io_uring_buf_ring_add(w->br, w->bufs + (size_t)b * BUFSZ, BUFSZ, b, io_uring_buf_ring_mask(NBUFS),
                        0);
  io_uring_buf_ring_advance(w->br, 1);
  w->returned = 1;
}

static void start_close(struct conn* c, int fd) {
  if (c->closing) return;
  c->closing = 1;
  shutdown(fd, SHUT_RDWR);  // ends the multishot recv
}

static void maybe_close(struct worker* w, int fd) {
  struct conn* c = &w->conns[fd];
  if (!c->closing || c->recv_armed || c->sending) return;
  close(fd);
  free(c->in);
  free(c->out[0].p);
  free(c->out[1].p);
  memset(c, 0, sizeof *c);
}

// Whether a request head (up to and including the last header's CRLF) asks to close.
static int wants_close(const char* h, int n) {
  const char *end = h + n, *eol = memmem(h, (size_t)n, "\r\n", 2);
  if (!eol) return 0;
  if (eol - h >= 9 && memcmp(eol - 9, " HTTP/1.0", 9) == 0) return 1;
  for (const char* line = eol + 2; line < end; line = eol + 2) {
    eol = memmem(line, (size_t)(end - line), "\r\n", 2);
    if (!eol) break;
    static const char name[] = "connection:";
    size_t len = (size_t)(eol - line);
    if (len < sizeof name - 1 || strncasecmp(line, name, sizeof name - 1) != 0) continue;
    const char* v = line + sizeof name - 1;
    while (v < eol && (*v == ' ' || *v == '\t')) v++;
    if (eol - v >= 5 && strncasecmp(v, "close", 5) == 0) return 1;
  }
  return 0;
}

// Answers the complete request heads in p[0..n); returns the bytes consumed, or -1
// when out of memory.
static int parse(struct worker* w, struct conn* c, const char* p, int n) {
  int start = 0;
  struct obuf* o = &c->out[c->cur ^ 1];
  while (!c->close_after) {
    const char* e = memmem(p + start, (size_t)(n - start), "\r\n\r\n", 4);
    if (!e) break;
    const char* h = p + start;
    int hn = (int)(e + 2 - h);
    int root =
        (hn >= 6 && memcmp(h, "GET / ", 6) == 0) || (hn >= 7 && memcmp(h, "HEAD / ", 7) == 0);
    if (root ? append(o, w->ok, w->ok_len) : append(o, w->not_found, w->not_found_len)) return -1;
    if (wants_close(h, hn)) c->close_after = 1;
    start = (int)(e + 4 - p);
  }
  return c->close_after ? n : start;
}

static void on_data(struct worker* w, int fd, const char* p, int n) {
  struct conn* c = &w->conns[fd];
  if (c->closing || c->close_after) return;
  int used;
  if (c->inlen == 0) {
    used = parse(w, c, p, n);
    if (used < 0) goto fail;
    p += used;
    n -= used;
    if (n == 0) return;
    if (!c->in && !(c->in = malloc(INCAP))) goto fail;
    if (n > INCAP) goto fail;
    memcpy(c->in, p, (size_t)n);
    c->inlen = n;
  } else {
    if (c->inlen + n > INCAP) goto fail;  // a request head larger than INCAP
    memcpy(c->in + c->inlen, p, (size_t)n);
    c->inlen += n;
    used = parse(w, c, c->in, c->inlen);
    if (used < 0) goto fail;
    memmove(c->in, c->in + used, (size_t)(c->inlen - used));
    c->inlen -= used;
  }
  return;
fail:
  start_close(c, fd);
}

static void on_accept(struct worker* w, struct io_uring_cqe* cqe) {
  if (cqe->res >= 0) {
    int fd = cqe->res;
    if (fd >= MAXFD) {
      close(fd);
    } else {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      memset(&w->conns[fd], 0, sizeof w->conns[fd]);
      arm_recv(w, fd);
    }
  }
  if (!(cqe->flags & IORING_CQE_F_MORE)) arm_accept(w);
}

static void on_recv(struct worker* w, struct io_uring_cqe* cqe, int fd) {
  struct conn* c = &w->conns[fd];
  int more = cqe->flags & IORING_CQE_F_MORE;
  if (!more) c->recv_armed = 0;
  if (cqe->res > 0) {
    int b = (int)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    on_data(w, fd, w->bufs + (size_t)b * BUFSZ, cqe->res);
    recycle(w, b);
    flush(w, fd);
    if (!c->sending && c->close_after) start_close(c, fd);
    if (!more && !c->closing) arm_recv(w, fd);  // multishot ended (e.g. CQ overflow)
  } else if (cqe->res == -ENOBUFS) {
    if (!more && !c->closing && !c->wait_buf) {  // re-arm once a buffer is back
      c->wait_buf = 1;
      if (w->nwaiting < MAXFD)
        w->waiting[w->nwaiting++] = fd;
      else
        arm_recv(w, fd);
    }
  } else {  // EOF or error
    c->closing = 1;
    if (more) shutdown(fd, SHUT_RDWR);
  }
  maybe_close(w, fd);
}

static void on_send(struct worker* w, struct io_uring_cqe* cqe, int fd) {
  struct conn* c = &w->conns[fd];
  c->sending = 0;
  if (cqe->res > 0) {
    c->sent += cqe->res;
    if (c->sent < c->out[c->cur].len) {  // short send: the rest
      send_cur(w, fd);
      return;
    }
    c->out[c->cur].len = 0;
    flush(w, fd);
    if (!c->sending && c->close_after) start_close(c, fd);
  } else {
    start_close(c, fd);
  }
  maybe_close(w, fd);
}

static void* run(void* arg) {
  struct worker* w = arg;
  struct io_uring_params p;
  unsigned flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
  const char* defer = getenv("URING_DEFER_TASKRUN");
  if (defer && *defer == '1') flags |= IORING_SETUP_DEFER_TASKRUN;
  memset(&p, 0, sizeof p);
  p.flags = flags | IORING_SETUP_CQSIZE;
  p.cq_entries = ENTRIES * 4;
  int r = io_uring_queue_init_params(ENTRIES, &w->ring, &p);
  if (r < 0) {
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = ENTRIES * 4;
    r = io_uring_queue_init_params(ENTRIES, &w->ring, &p);
    if (r < 0) die("io_uring_queue_init_params", -r);
  }

  void* mem;
  if (posix_memalign(&mem, 4096, NBUFS * sizeof(struct io_uring_buf)))
    die("posix_memalign", ENOMEM);
  memset(mem, 0, NBUFS * sizeof(struct io_uring_buf));
  w->br = mem;
  struct io_uring_buf_reg reg = {
      .ring_addr = (unsigned long)mem, .ring_entries = NBUFS, .bgid = BGID};
  r = io_uring_register_buf_ring(&w->ring, &reg, 0);
  if (r < 0) die("io_uring_register_buf_ring", -r);
  io_uring_buf_ring_init(w->br);
  if (posix_memalign(&mem, 4096, (size_t)NBUFS * BUFSZ)) die("posix_memalign", ENOMEM);
  w->bufs = mem;
  for (int i = 0; i < NBUFS; i++)
    io_uring_buf_ring_add(w->br, w->bufs + (size_t)i * BUFSZ, BUFSZ, i,
                          io_uring_buf_ring_mask(NBUFS), i);
  io_uring_buf_ring_advance(w->br, NBUFS);

  w->conns = calloc(MAXFD, sizeof *w->conns);
  w->waiting = calloc(MAXFD, sizeof *w->waiting);
  if (!w->conns || !w->waiting) die("calloc", ENOMEM);

  arm_accept(w);
  for (;;) {
    r = io_uring_submit_and_wait(&w->ring, 1);
    if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) die("io_uring_submit_and_wait", -r);
    refresh_answers(w);
    struct io_uring_cqe* cqe;
    unsigned head, n = 0;
    w->returned = 0;
    io_uring_for_each_cqe(&w->ring, head, cqe) {
      uint64_t u = io_uring_cqe_get_data64(cqe);
      switch (ud_op(u)) {
        case OP_ACCEPT:
          on_accept(w, cqe);
          break;
        case OP_RECV:
          on_recv(w, cqe, ud_fd(u));
          break;
        case OP_SEND:
          on_send(w, cqe, ud_fd(u));
          break;
      }
      n++;
    }
    io_uring_cq_advance(&w->ring, n);
    if (w->returned && w->nwaiting) {
      int k = w->nwaiting;
      w->nwaiting = 0;
      for (int i = 0; i < k; i++) {
        struct conn* c = &w->conns[w->waiting[i]];
        if (!c->wait_buf) continue;
        c->wait_buf = 0;
        if (!c->closing && !c->recv_armed) arm_recv(w, w->waiting[i]);
      }
    }
  }
  return NULL;
}

static int listener(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket", errno);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) die("SO_REUSEPORT", errno);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_ANY)};
  if (bind(fd, (struct sockaddr*)&a, sizeof a) < 0) die("bind", errno);
  if (listen(fd, 1024) < 0) die("listen", errno);
  return fd;
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: http PORT [THREADS]\n");
    return 2;
  }
  int port = atoi(argv[1]);
  long threads = argc == 3 ? atol(argv[2]) : sysconf(_SC_NPROCESSORS_ONLN);
  if (threads < 1) threads = 1;

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);  // inherited by the workers
  signal(SIGPIPE, SIG_IGN);

  struct worker* ws = calloc((size_t)threads, sizeof *ws);
  if (!ws) die("calloc", ENOMEM);
  for (long i = 0; i < threads; i++) {
    ws[i].lfd = listener(port);
    refresh_answers(&ws[i]);
  }
  for (long i = 0; i < threads; i++) {
    pthread_t t;
    int r = pthread_create(&t, NULL, run, &ws[i]);
    if (r) die("pthread_create", r);
  }
  printf("uring http server on 0.0.0.0:%d, %ld threads\n", port, threads);
  fflush(stdout);
  int sig;
  sigwait(&set, &sig);
  return 0;
}
