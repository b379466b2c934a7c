// Peer benchmarks for coproc, Go side. See bench/WORKLOADS.md.
// A "process" is a goroutine; its mailbox is a channel it owns.
// Build: GO111MODULE=off go build -o build/go-peers go/peers.go
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func result(w, metric string, value float64, unit string) {
	fmt.Printf("RESULT system=go workload=%s metric=%s value=%s unit=%s\n",
		w, metric, strconv.FormatFloat(value, 'f', 3, 64), unit)
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// ---------------------------------------------------------------- ring

func ring() {
	const n, m = 10000, 1000000
	done := make(chan int)
	t0 := time.Now()
	// Spawn backwards so each node knows its successor at spawn time; the
	// first node learns its successor by message.
	first := make(chan int, 1)
	firstNext := make(chan chan int, 1)
	next := first
	for i := n - 1; i >= 1; i-- {
		in := make(chan int, 1)
		go ringNode(i, in, next, done)
		next = in
	}
	go func() { ringNode(0, first, <-firstNext, done) }()
	firstNext <- next
	spawn := time.Since(t0)

	t1 := time.Now()
	first <- m
	last := <-done
	elapsed := time.Since(t1)
	// Node i gets the token after i hops, so hop m ends on node m % n.
	if last != m%n {
		fail("ring: token ended on node %d", last)
	}
	result("ring", "spawn_ms", ms(spawn), "ms")
	result("ring", "hops_per_s", m/elapsed.Seconds(), "hops/s")
}

func ringNode(i int, in <-chan int, next chan<- int, done chan<- int) {
	for k := range in {
		if k == 0 {
			done <- i
		} else {
			next <- k - 1
		}
	}
}

// ------------------------------------------------------------ pingpong

func pingpong() {
	const n = 1000000
	type ping struct{ from chan<- struct{} }
	pongIn := make(chan ping, 1)
	pingIn := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() { // pong
		for p := range pongIn {
			p.from <- struct{}{}
		}
	}()
	start := make(chan struct{})
	go func() { // ping
		<-start
		for i := 0; i < n; i++ {
			pongIn <- ping{pingIn}
			<-pingIn
		}
		done <- struct{}{}
	}()
	t0 := time.Now()
	start <- struct{}{}
	<-done
	elapsed := time.Since(t0)
	close(pongIn)
	result("pingpong", "ns_per_roundtrip", float64(elapsed.Nanoseconds())/n, "ns")
}

// -------------------------------------------------------------- skynet

func skynetNode(parent chan<- int64, num, size int64) {
	if size == 1 {
		parent <- num
		return
	}
	sub := size / 10
	in := make(chan int64, 10)
	for i := int64(0); i < 10; i++ {
		go skynetNode(in, num+i*sub, sub)
	}
	var sum int64
	for i := 0; i < 10; i++ {
		sum += <-in
	}
	parent <- sum
}

func skynet() {
	in := make(chan int64, 1)
	t0 := time.Now()
	go skynetNode(in, 0, 1000000)
	sum := <-in
	elapsed := time.Since(t0)
	if sum != 499999500000 {
		fail("skynet: sum %d", sum)
	}
	result("skynet", "wall_ms", ms(elapsed), "ms")
}

// ---------------------------------------------------------- spawn_idle

func vmRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		fail("%v", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fs := strings.Fields(s.Text()); len(fs) >= 2 && fs[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(fs[1], 10, 64)
			return kb * 1024
		}
	}
	fail("no VmRSS")
	return 0
}

func spawnIdle() {
	const n = 1000000
	runtime.GC()
	rss0 := vmRSS()
	t0 := time.Now()
	// A WaitGroup is the idiomatic Go "everyone has started" barrier (the
	// other systems send a 'ready' message instead).
	var ready, stopped sync.WaitGroup
	ready.Add(n)
	stopped.Add(n)
	boxes := make([]chan struct{}, n)
	for i := range boxes {
		box := make(chan struct{}) // the process's mailbox
		boxes[i] = box
		go func() {
			ready.Done()
			<-box
			stopped.Done()
		}()
	}
	ready.Wait()
	spawn := time.Since(t0)
	rss1 := vmRSS()
	for _, box := range boxes {
		close(box) // stop
	}
	stopped.Wait()
	result("spawn_idle", "spawn_ms", ms(spawn), "ms")
	result("spawn_idle", "rss_bytes_per_process", float64(rss1-rss0)/n, "bytes")
}

// --------------------------------------------------------------- fanin

func fanin() {
	const senders, perSender = 1000, 10000
	const total = senders * perSender
	// Channels are bounded, so a fast sender blocks instead of growing the
	// receiver's mailbox without limit as in the actor systems.
	in := make(chan int, 1024)
	counted := make(chan struct{})
	go func() {
		for i := 0; i < total; i++ {
			<-in
		}
		counted <- struct{}{}
	}()
	start := make(chan struct{})
	for s := 0; s < senders; s++ {
		go func() {
			<-start
			for i := 0; i < perSender; i++ {
				in <- i
			}
		}()
	}
	t0 := time.Now()
	close(start) // broadcast "go" to all senders
	<-counted
	elapsed := time.Since(t0)
	result("fanin", "msgs_per_s", total/elapsed.Seconds(), "msgs/s")
}

// -------------------------------------------------------------- timers

func timers() {
	const n = 100000
	lates := make(chan time.Duration, 1024)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		go func() {
			mbox := make(chan struct{}) // nobody ever sends here
			deadline := time.Now().Add(10 * time.Millisecond)
			t := time.NewTimer(10 * time.Millisecond)
			select { // receive ... after 10 ms
			case <-mbox:
			case <-t.C:
			}
			lates <- time.Since(deadline)
		}()
	}
	all := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		all = append(all, <-lates)
	}
	elapsed := time.Since(t0)
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p int) float64 {
		i := (n*p + 99) / 100
		if i < 1 {
			i = 1
		}
		return float64(all[i-1].Microseconds())
	}
	result("timers", "wall_ms", ms(elapsed), "ms")
	result("timers", "late_p50_us", pct(50), "us")
	result("timers", "late_p99_us", pct(99), "us")
}

// ------------------------------------------------------- timers_steady

// Lateness histogram: 1 us buckets up to 1 s; the last bucket is 1 s or more.
const histUs = 1000000

func timersSteady() {
	const n = 100000
	hist := make([]uint64, histUs+1)
	var wg sync.WaitGroup
	wg.Add(n)
	t0 := time.Now()
	end := t0.Add(3 * time.Second)
	for i := 0; i < n; i++ {
		go func() {
			defer wg.Done()
			mbox := make(chan struct{}) // nobody ever sends here
			t := time.NewTimer(10 * time.Millisecond)
			deadline := time.Now().Add(10 * time.Millisecond)
			for {
				select { // receive ... after 10 ms, in a loop
				case <-mbox:
				case <-t.C:
				}
				now := time.Now()
				late := now.Sub(deadline).Microseconds()
				if late < 0 {
					late = 0
				} else if late > histUs {
					late = histUs
				}
				atomic.AddUint64(&hist[late], 1)
				if !now.Before(end) {
					return
				}
				deadline = time.Now().Add(10 * time.Millisecond)
				t.Reset(10 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	var total uint64
	for i := range hist {
		total += atomic.LoadUint64(&hist[i])
	}
	rank := func(perMille uint64) float64 {
		r := (total*perMille + 999) / 1000
		if r < 1 {
			r = 1
		}
		var seen uint64
		for i, c := range hist {
			seen += c
			if seen >= r {
				return float64(i)
			}
		}
		return histUs
	}
	result("timers_steady", "late_p50_us", rank(500), "us")
	result("timers_steady", "late_p99_us", rank(990), "us")
	result("timers_steady", "late_p999_us", rank(999), "us")
	result("timers_steady", "expiries_per_s", float64(total)/elapsed.Seconds(), "expiries/s")
}

// ----------------------------------------------------------- selective

// Go has no selective receive. Emulation: the mailbox is a channel plus a
// slice of messages already taken off the channel but not yet matched
// ("save queue"). receive() scans the slice in arrival order first, then
// pulls from the channel, stashing non-matching messages -- i.e. Erlang
// semantics, with each receive re-scanning the stashed junk.
type msg struct {
	tag string
	n   int
}

type mailbox struct {
	ch    chan msg
	saved []msg
}

func (mb *mailbox) receive(match func(msg) bool) msg {
	for i, m := range mb.saved {
		if match(m) {
			mb.saved = append(mb.saved[:i], mb.saved[i+1:]...)
			return m
		}
	}
	for {
		m := <-mb.ch
		if match(m) {
			return m
		}
		mb.saved = append(mb.saved, m)
	}
}

func selective() {
	const junk, n = 1000, 100000
	mb := &mailbox{ch: make(chan msg, 1024)}
	done := make(chan int)
	go func() {
		for i := 0; i < n; i++ {
			m := mb.receive(func(m msg) bool { return m.tag == "msg" })
			if m.n != i {
				fail("selective: got %d want %d", m.n, i)
			}
		}
		done <- len(mb.saved)
	}()
	for i := 0; i < junk; i++ {
		mb.ch <- msg{"junk", i}
	}
	t0 := time.Now()
	for i := 0; i < n; i++ {
		mb.ch <- msg{"msg", i}
	}
	left := <-done
	elapsed := time.Since(t0)
	if left != junk {
		fail("selective: %d junk left", left)
	}
	result("selective", "ns_per_receive", float64(elapsed.Nanoseconds())/n, "ns")
}

func main() {
	workloads := map[string]func(){
		"ring": ring, "pingpong": pingpong, "skynet": skynet,
		"spawn_idle": spawnIdle, "fanin": fanin, "timers": timers,
		"timers_steady": timersSteady, "selective": selective,
	}
	if len(os.Args) < 2 || workloads[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: peers <ring|pingpong|skynet|spawn_idle|fanin|timers|timers_steady|selective>")
		os.Exit(2)
	}
	workloads[os.Args[1]]()
}
