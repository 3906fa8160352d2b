package shell

import "sync"

// LimitedBuffer keeps the first Max bytes written to it and counts the
// rest, so a program that prints without end costs bounded memory. Writes
// never fail: the program is not disturbed, only cut off.
type LimitedBuffer struct {
	Max int
	// OnOverflow, if set, is called once when more than Max bytes arrive,
	// say to stop the program.
	OnOverflow func()

	mu      sync.Mutex
	buf     []byte
	dropped int64
}

func (b *LimitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	keep := min(max(b.Max-len(b.buf), 0), len(p))
	b.buf = append(b.buf, p[:keep]...)
	first := b.dropped == 0 && keep < len(p)
	b.dropped += int64(len(p) - keep)
	if first && b.OnOverflow != nil {
		b.OnOverflow()
	}
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
