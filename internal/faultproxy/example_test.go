package faultproxy_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/jwtkit/jwtkit/internal/faultproxy"
)

// A server reached through the proxy answers until the proxy resets its
// connections, and again once it resumes.
func Example() {
	// A server that greets each connection.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("hello"))
			_ = c.Close()
		}
	}()

	p, err := faultproxy.New(faultproxy.Config{Target: ln.Addr().String()})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	greet := func() {
		c, err := net.Dial("tcp", p.Addr())
		if err == nil {
			var b []byte
			b, err = io.ReadAll(c)
			_ = c.Close()
			if err == nil {
				fmt.Println(string(b))
				return
			}
		}
		fmt.Println("reset:", errors.Is(err, syscall.ECONNRESET))
	}

	greet()
	p.Reset()
	greet()
	p.Resume()
	greet()
	// Output:
	// hello
	// reset: true
	// hello
}
