//go:build !unix

package testprobe

import (
	"net"
	"testing"
)

// RefusingAddr returns a 127.0.0.1 address where nothing listens (a
// listener's, closed; unlike on Unix the port is not held).
func RefusingAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
