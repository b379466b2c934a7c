// TCP echo server: one goroutine per connection (the idiomatic Go way).
//   go run echo.go PORT
package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strconv"
)

func handle(c net.Conn) {
	defer c.Close()
	// io.Copy uses a 32 KiB buffer; each read is written back before the next.
	io.Copy(c, c)
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: echo PORT")
		os.Exit(2)
	}
	port, err := strconv.Atoi(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", port))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("go echo server on %s\n", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Print(err)
			continue
		}
		// Go sets TCP_NODELAY on TCP connections by default.
		go handle(c)
	}
}
