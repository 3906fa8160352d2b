package credmgr

import (
	"context"
	"time"
)

// maxWarmSleep bounds the warm loop's sleep, so entries created meanwhile
// are seen.
const maxWarmSleep = time.Minute

// String names the manager's loop for the daemon's supervisor.
func (m *Manager) String() string { return "credential manager" }

// Run keeps recently used credentials warm until ctx ends: it refreshes
// every entry whose refresh time has come, so a warm request never waits
// on STS. When it returns, fetches still under way are cancelled; cancel
// ctx only once no request needs the manager any more.
func (m *Manager) Run(ctx context.Context) error {
	defer m.stop()
	for {
		wait := maxWarmSleep
		if next := m.NextDue(); !next.IsZero() {
			wait = min(max(next.Sub(m.Clock.Now()), time.Second), maxWarmSleep)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-m.Clock.After(wait):
		}
		m.RefreshDue(m.life)
	}
}
