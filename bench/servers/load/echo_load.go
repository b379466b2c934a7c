// TCP echo load client: C connections, each sends a SIZE-byte message, waits
// for the same SIZE bytes back, and repeats for D seconds. Loopback only.
//   echo_load -port 7000 -system coproc [-c 100] [-size 64] [-d 10s]
// Prints on stdout:
//   RESULT system=<name> workload=tcp_echo metric=roundtrips_per_s value=<n> unit=rt/s
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	port := flag.Int("port", 0, "server port on 127.0.0.1 (required)")
	system := flag.String("system", "unknown", "system name for the RESULT line")
	conns := flag.Int("c", 100, "concurrent connections")
	size := flag.Int("size", 64, "message size in bytes")
	dur := flag.Duration("d", 10*time.Second, "measured duration")
	flag.Parse()
	if *port <= 0 || *port > 65535 || *conns <= 0 || *size <= 0 || *dur <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", *port)

	// Connect everything first, so connection setup is not measured.
	cs := make([]net.Conn, 0, *conns)
	for i := 0; i < *conns; i++ {
		c, err := net.DialTimeout("tcp4", addr, 5*time.Second)
		if err != nil {
			fmt.Fprintf(os.Stderr, "echo_load: connect %d/%d: %v\n", i+1, *conns, err)
			for _, c := range cs {
				c.Close()
			}
			os.Exit(1)
		}
		cs = append(cs, c)
	}

	var total, failed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	var deadline time.Time
	for i, c := range cs {
		wg.Add(1)
		go func(id int, c net.Conn) {
			defer wg.Done()
			defer c.Close()
			msg := make([]byte, *size)
			for j := range msg {
				msg[j] = byte('a' + (id+j)%26)
			}
			back := make([]byte, *size)
			<-start
			// A stuck server cannot hold us past the deadline (+ slack).
			c.SetDeadline(deadline.Add(2 * time.Second))
			n := int64(0)
			for time.Now().Before(deadline) {
				if _, err := c.Write(msg); err != nil {
					failed.Add(1)
					break
				}
				if _, err := io.ReadFull(c, back); err != nil {
					failed.Add(1)
					break
				}
				if !bytes.Equal(msg, back) {
					fmt.Fprintf(os.Stderr, "echo_load: conn %d: echoed bytes differ\n", id)
					failed.Add(1)
					break
				}
				n++
			}
			total.Add(n)
		}(i, c)
	}
	t0 := time.Now()
	deadline = t0.Add(*dur)
	close(start)
	wg.Wait()
	elapsed := time.Since(t0).Seconds()

	if f := failed.Load(); f > 0 {
		fmt.Fprintf(os.Stderr, "echo_load: %d of %d connections failed\n", f, *conns)
	}
	n := total.Load()
	rate := float64(n) / elapsed
	fmt.Fprintf(os.Stderr, "echo_load: %d round trips in %.2f s over %d connections (%d B): mean latency %.1f us\n",
		n, elapsed, *conns, *size, float64(*conns)/rate*1e6)
	fmt.Printf("RESULT system=%s workload=tcp_echo metric=roundtrips_per_s value=%.0f unit=rt/s\n", *system, rate)
	if n == 0 || failed.Load() == int64(*conns) {
		os.Exit(1)
	}
}
