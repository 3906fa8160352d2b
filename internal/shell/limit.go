package shell

import "sync"

// LimitedBuffer keeps the first Max bytes written to it and counts the
// rest, so a program that prints without end costs bounded memory. Writes
// never fail: the program is not disturbed, only cut off.
type LimitedBuffer struct {
	Max int

	mu      sync.Mutex
	buf     []byte
	dropped int64
}

func (b *LimitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	keep := min(max(b.Max-len(b.buf), 0), len(p))
	b.buf = append(b.buf, p[:keep]...)
	b.dropped += int64(len(p) - keep)
	return len(p), nil
}

// Bytes returns what was kept.
func (b *LimitedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf
}

// Overflowed reports whether more than Max bytes were written.
func (b *LimitedBuffer) Overflowed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped > 0
}
