// TCP echo server on raw liburing (2.3): the "what the kernel allows" line.
// One thread per core (or argv[2]), each with its own ring and its own
// SO_REUSEPORT listener on the same port. Per ring: one multishot accept; per
// connection one multishot recv (IORING_RECV_MULTISHOT) that picks buffers from a
// provided-buffer ring (io_uring_register_buf_ring); the received bytes are sent
// back from that buffer with a send SQE, and the buffer goes back to the ring when
// the send has completed. Sends of one connection go out one at a time, in order
// (a FIFO of received buffers per connection); a short send sends the rest.
// A multishot whose CQE lacks IORING_CQE_F_MORE is re-armed; ENOBUFS (no free
// buffer) re-arms once a buffer is returned; EOF or an error closes the
// connection once nothing of it is in flight.
// Rings: IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN (falling back to
// no flags); URING_DEFER_TASKRUN=1 adds IORING_SETUP_DEFER_TASKRUN.
// SIGTERM/SIGINT end the process.
//   echo PORT [THREADS]
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
#include <sys/socket.h>
#include <unistd.h>

enum {
  ENTRIES = 4096,  // SQ entries; the CQ gets 4x
  NBUFS = 4096,    // provided buffers per ring (a power of two)
  BUFSZ = 2048,    // bytes per buffer
  BGID = 0,        // buffer group id (each ring has its own)
  MAXFD = 65536,   // connection table size (by fd)
};
enum { OP_ACCEPT = 1, OP_RECV = 2, OP_SEND = 3 };

static inline uint64_t mkud(int op, int bid, int fd) {
  return (uint64_t)op << 56 | (uint64_t)(uint16_t)bid << 32 | (uint32_t)fd;
}
static inline int ud_op(uint64_t u) {
  return (int)(u >> 56);
}
static inline int ud_bid(uint64_t u) {
  return (int)((u >> 32) & 0xffff);
}
static inline int ud_fd(uint64_t u) {
  return (int)(uint32_t)u;
}

// A received buffer queued for sending.
struct buf {
  int len, off, next;
};
struct conn {
  int head, tail;  // FIFO of buffer ids to send, -1 if empty
  unsigned char sending, recv_armed, closing, wait_buf;
};

struct worker {
  struct io_uring ring;
  struct io_uring_buf_ring* br;
  char* bufs;
  struct buf meta[NBUFS];
  struct conn* conns;      // MAXFD entries
  int *waiting, nwaiting;  // connections waiting for a buffer (ENOBUFS)
  int returned;            // buffers went back to the ring in this batch
  int lfd;
};

static void die(const char* what, int err) {
  fprintf(stderr, "uring echo: %s: %s\n", what, strerror(err));
  exit(1);
}

static struct io_uring_sqe* get_sqe(struct worker* w) {
  struct io_uring_sqe* s;
  while (!(s = io_uring_get_sqe(&w->ring))) io_uring_submit(&w->ring);
  return s;
}

static void arm_accept(struct worker* w) {
  struct io_uring_sqe* s = get_sqe(w);
  io_uring_prep_multishot_accept(s, w->lfd, NULL, NULL, 0);
  io_uring_sqe_set_data64(s, mkud(OP_ACCEPT, 0, w->lfd));
}

static void arm_recv(struct worker* w, int fd) {
  struct io_uring_sqe* s = get_sqe(w);
  io_uring_prep_recv_multishot(s, fd, NULL, 0, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = BGID;
  io_uring_sqe_set_data64(s, mkud(OP_RECV, 0, fd));
  w->conns[fd].recv_armed = 1;
}

static void send_head(struct worker* w, int fd) {
  struct conn* c = &w->conns[fd];
  int b = c->head;
  struct io_uring_sqe* s = get_sqe(w);
  io_uring_prep_send(s, fd, w->bufs + (size_t)b * BUFSZ + w->meta[b].off,
                     w->meta[b].len - w->meta[b].off, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(s, mkud(OP_SEND, b, fd));
  c->sending = 1;
}

static void recycle(struct worker* w, int b) {
  io_uring_buf_ring_add(w->br, w->bufs + (size_t)b * BUFSZ, BUFSZ, b, io_uring_buf_ring_mask(NBUFS),
                        0);
  io_uring_buf_ring_advance(w->br, 1);
  w->returned = 1;
}

static void drop_queue(struct worker* w, struct conn* c) {
  while (c->head != -1) {
    int b = c->head;
    c->head = w->meta[b].next;
    recycle(w, b);
  }
  c->tail = -1;
}

static void maybe_close(struct worker* w, int fd) {
  struct conn* c = &w->conns[fd];
  if (!c->closing || c->recv_armed || c->sending) return;
  drop_queue(w, c);
  close(fd);
  c->closing = 0;
  c->wait_buf = 0;
}

static void on_accept(struct worker* w, struct io_uring_cqe* cqe) {
  if (cqe->res >= 0) {
    int fd = cqe->res;
    if (fd >= MAXFD) {
      close(fd);
    } else {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      w->conns[fd] = (struct conn){.head = -1, .tail = -1};
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
    if (c->closing) {
      recycle(w, b);
    } else {
      w->meta[b] = (struct buf){.len = cqe->res, .off = 0, .next = -1};
      if (c->tail == -1)
        c->head = b;
      else
        w->meta[c->tail].next = b;
      c->tail = b;
      if (!c->sending) send_head(w, fd);
    }
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
    if (more) shutdown(fd, SHUT_RDWR);  // should not happen; end the recv
  }
  maybe_close(w, fd);
}

static void on_send(struct worker* w, struct io_uring_cqe* cqe, int fd, int b) {
  struct conn* c = &w->conns[fd];
  c->sending = 0;
  if (cqe->res > 0) {
    w->meta[b].off += cqe->res;
    if (w->meta[b].off < w->meta[b].len) {  // short send: the rest
      send_head(w, fd);
      return;
    }
    c->head = w->meta[b].next;
    if (c->head == -1) c->tail = -1;
    recycle(w, b);
    if (c->head != -1) send_head(w, fd);
  } else {  // error: drop the rest, end the recv
    drop_queue(w, c);
    if (!c->closing) {
      c->closing = 1;
      shutdown(fd, SHUT_RDWR);
    }
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
          on_send(w, cqe, ud_fd(u), ud_bid(u));
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
    fprintf(stderr, "usage: echo PORT [THREADS]\n");
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
  for (long i = 0; i < threads; i++) ws[i].lfd = listener(port);
  for (long i = 0; i < threads; i++) {
    pthread_t t;
    int r = pthread_create(&t, NULL, run, &ws[i]);
    if (r) die("pthread_create", r);
  }
  printf("uring echo server on 0.0.0.0:%d, %ld threads\n", port, threads);
  fflush(stdout);
  int sig;
  sigwait(&set, &sig);
  return 0;
}
