package credmgr

import (
	"context"
	"log/slog"
	"time"
)

// maxWarmSleep bounds the warm loop's sleep, so entries created meanwhile
// are seen.
const maxWarmSleep = time.Minute

// String names the manager's loop for the daemon's supervisor.
func (m *Manager) String() string { return "credential manager" }

// Run keeps recently used credentials warm until ctx ends: it refreshes
// every entry whose refresh time has come, so a warm request never waits
// on STS, and drops expired records from the Store every PruneInterval.
// When it returns, fetches still under way are cancelled and pending saves
// are written; cancel ctx only once no request needs the manager any more.
func (m *Manager) Run(ctx context.Context) error {
	defer m.Flush()
	defer m.stop()
	nextPrune := m.Clock.Now().Add(PruneInterval)
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
		// ctx bounds the wait, not the fetches: they run under m.life,
		// which ends when Run returns.
		m.RefreshDue(ctx)
		if now := m.Clock.Now(); !now.Before(nextPrune) {
			nextPrune = now.Add(PruneInterval)
			m.prune(ctx)
		}
	}
}

func (m *Manager) prune(ctx context.Context) {
	p, ok := m.Store.(Pruner)
	if !ok {
		return
	}
	m.storeMu.Lock()
	defer m.storeMu.Unlock()
	if n, err := p.Prune(); err != nil {
		m.Log.LogAttrs(ctx, slog.LevelDebug, "pruning the credential cache failed", slog.String("error", err.Error()))
	} else if n > 0 {
		m.Log.LogAttrs(ctx, slog.LevelInfo, "pruned expired credentials from the cache", slog.Int("records", n))
	}
}
