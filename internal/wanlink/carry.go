package wanlink

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

const (
	// chunkSize is the most one read takes.
	chunkSize = 32 << 10
	// window is how many bytes may be in flight each way on a connection.
	window = 4 << 20
	// queueLen bounds the chunks in flight each way, whatever their size.
	queueLen = 1024
)

// wire is one direction of the link: its bandwidth, when it is next free,
// and the bytes it delivered.
type wire struct {
	bandwidth int64 // bytes per second; 0: no limit

	mu   sync.Mutex
	free time.Time // when the last chunk put on it has left

	bytes atomic.Int64
}

// schedule returns when n bytes sent at t arrive at the far end, and puts
// them on the wire.
func (w *wire) schedule(t, notBefore time.Time, n int, oneWay time.Duration) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	var at time.Time
	at, w.free = arrival(t, notBefore, w.free, n, w.bandwidth, oneWay)
	return at
}

// arrival is the link's timing: bytes sent at t wait until the connection
// is open (notBefore), then, with a bandwidth, until the wire is free and
// n/bandwidth seconds to go out, then oneWay to arrive. It returns when
// they arrive and when the wire is free again. Nothing depends on when the
// previous chunk arrives: chunks are pipelined. The wire serves chunks in
// the order they were read (one waiting for its connection to open holds
// back those read after it).
func arrival(t, notBefore, free time.Time, n int, bandwidth int64, oneWay time.Duration) (at, nextFree time.Time) {
	start := t
	if start.Before(notBefore) {
		start = notBefore
	}
	if bandwidth == 0 {
		return start.Add(oneWay), free
	}
	if start.Before(free) {
		start = free
	}
	end := start.Add(time.Duration(int64(n) * int64(time.Second) / bandwidth))
	return end.Add(oneWay), end
}

// chunk is what one read returned, and when to deliver it.
type chunk struct {
	data []byte
	at   time.Time
	// err ends the direction: io.EOF is a half-close, anything else a
	// failure that ends the connection.
	err error
}

// carry copies src to dst over w, each chunk delivered when arrival says,
// until src ends (then dst is half-closed), either end fails (then end is
// called, which closes the connection) or ctx ends.
func carry(ctx context.Context, end context.CancelFunc, src, dst *net.TCPConn, w *wire, notBefore time.Time, oneWay time.Duration) {
	queue := make(chan chunk, queueLen)
	inFlight := semaphore.NewWeighted(window)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		defer close(queue)
		buf := make([]byte, chunkSize)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if inFlight.Acquire(ctx, int64(n)) != nil {
					return
				}
				c := chunk{data: bytes.Clone(buf[:n]), at: w.schedule(time.Now(), notBefore, n, oneWay)}
				select {
				case queue <- c:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				select {
				case queue <- chunk{at: w.schedule(time.Now(), notBefore, 0, oneWay), err: err}:
				case <-ctx.Done():
				}
				return
			}
		}
	})

	timer := time.NewTimer(0)
	defer timer.Stop()
	for c := range queue {
		if d := time.Until(c.at); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
		}
		switch {
		case c.err == nil:
			n, err := dst.Write(c.data)
			w.bytes.Add(int64(n))
			inFlight.Release(int64(len(c.data)))
			if err != nil {
				end()
				return
			}
		case errors.Is(c.err, io.EOF):
			if dst.CloseWrite() != nil {
				end()
			}
			return
		default:
			// src was reset (or failed): so is dst.
			_ = dst.SetLinger(0)
			end()
			return
		}
	}
}
