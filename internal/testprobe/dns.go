package testprobe

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// RequireNXDOMAIN skips the test unless this machine's resolver answers
// "no such host" for name promptly: where DNS is unreachable or broken, a
// lookup times out or fails otherwise, and a test of the "no such host"
// message would fail for the machine's sake, not the code's.
func RequireNXDOMAIN(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := net.DefaultResolver.LookupHost(ctx, name)
	var dns *net.DNSError
	if !errors.As(err, &dns) || !dns.IsNotFound {
		t.Skipf("this machine's resolver does not answer \"no such host\" for %s (it said: %v); the DNS case needs a working resolver", name, err)
	}
}
