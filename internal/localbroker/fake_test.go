package localbroker

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/codecommitd/codecommitd/internal/sigv4"
)

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// source is a fake credential source: each fetch returns new credentials
// lasting life.
type source struct {
	clock clockwork.Clock
	life  time.Duration
	calls atomic.Int32
}

func (s *source) fetch(context.Context) (sigv4.Credentials, error) {
	n := s.calls.Add(1)
	c := sigv4.Credentials{AccessKeyID: fmt.Sprintf("ASIA%d", n), SecretAccessKey: "s", SessionToken: "t"}
	if s.life != 0 {
		c.Expires = s.clock.Now().Add(s.life)
	}
	return c, nil
}
