package wanlink

import (
	"testing"
	"time"
)

func TestArrival(t *testing.T) {
	t0 := time.Now()
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	for _, c := range []struct {
		name             string
		sent, open, free time.Time
		n                int
		bandwidth        int64
		oneWay           time.Duration
		at, nextFree     time.Time
	}{
		{name: "one way later", sent: ms(100), open: ms(0), free: ms(0), n: 1000, oneWay: 20 * time.Millisecond, at: ms(120), nextFree: ms(0)},
		// The previous chunk, sent at 99 ms, has not arrived: this one
		// still arrives one way after it was sent, not after that one.
		{name: "pipelined", sent: ms(100), open: ms(0), free: ms(99), n: 1000, bandwidth: 1e6, oneWay: 20 * time.Millisecond, at: ms(121), nextFree: ms(101)},
		{name: "before the connection is open", sent: ms(5), open: ms(40), free: ms(0), n: 1, oneWay: 20 * time.Millisecond, at: ms(60), nextFree: ms(0)},
		// Another connection's chunk waits for its own to open at 40 ms:
		// without a bandwidth, nothing is shared.
		{name: "no wire without a bandwidth", sent: ms(5), open: ms(0), free: ms(40), n: 1, oneWay: 20 * time.Millisecond, at: ms(25), nextFree: ms(40)},
		{name: "before the connection is open, with a bandwidth", sent: ms(5), open: ms(40), free: ms(0), n: 1000, bandwidth: 1e5, oneWay: 20 * time.Millisecond, at: ms(70), nextFree: ms(50)},
		{name: "bandwidth", sent: ms(100), open: ms(0), free: ms(0), n: 1000, bandwidth: 10000, oneWay: 20 * time.Millisecond, at: ms(220), nextFree: ms(200)},
		{name: "wire busy", sent: ms(100), open: ms(0), free: ms(150), n: 1000, bandwidth: 10000, oneWay: 20 * time.Millisecond, at: ms(270), nextFree: ms(250)},
		{name: "no delay at all", sent: ms(100), open: ms(0), free: ms(0), n: 1 << 20, at: ms(100), nextFree: ms(0)},
		{name: "a close takes no wire time", sent: ms(100), open: ms(0), free: ms(0), n: 0, bandwidth: 10, oneWay: 5 * time.Millisecond, at: ms(105), nextFree: ms(100)},
	} {
		t.Run(c.name, func(t *testing.T) {
			at, free := arrival(c.sent, c.open, c.free, c.n, c.bandwidth, c.oneWay)
			if !at.Equal(c.at) || !free.Equal(c.nextFree) {
				t.Errorf("arrival = %s, wire free at %s; want %s, %s", at.Sub(t0), free.Sub(t0), c.at.Sub(t0), c.nextFree.Sub(t0))
			}
		})
	}
}
