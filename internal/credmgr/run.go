package credmgr

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// PruneInterval is how often Run drops expired records from the Store.
const PruneInterval = time.Hour

// String names the manager's loop for the daemon's supervisor.
func (m *Manager) String() string { return "credential manager" }

// Run keeps recently used credentials warm until ctx ends: it refreshes
// every entry whose refresh time has come, so a warm request never waits
// on STS, and drops expired records from the Store every PruneInterval.
// When it returns, it closes the manager: fetches still under way are
// cancelled and pending saves are written; so cancel ctx only once no
// request needs the manager any more. A Manager runs once: Run returns an
// error at once when it ran before or was closed.
func (m *Manager) Run(ctx context.Context) error {
	if !m.ran.CompareAndSwap(false, true) {
		return errors.New("run twice: a Manager runs once")
	}
	if m.life.Err() != nil {
		return errors.New("run after Close: a closed Manager does not run")
	}
	defer m.Close()
	nextPrune := time.Now().Add(PruneInterval)
	for {
		wait := m.policy.MaxWarmWait
		if next := m.NextDue(); !next.IsZero() {
			wait = min(max(time.Until(next), m.policy.MinWarmWait), m.policy.MaxWarmWait)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		// ctx bounds the wait, not the fetches: they run under m.life,
		// which ends when Run returns.
		m.RefreshDue(ctx)
		if now := time.Now(); !now.Before(nextPrune) {
			nextPrune = now.Add(PruneInterval)
			m.prune(ctx)
		}
	}
}

// Close cancels the fetches under way and waits until every credential
// obtained so far is saved. Run calls it when it returns; the owner of a
// Manager that does not run (codecommitd oneshot) calls it when done.
// Afterwards the Manager hands out only the credentials it holds.
func (m *Manager) Close() {
	m.stop()
	m.flush()
}

func (m *Manager) prune(ctx context.Context) {
	p, ok := m.store.(Pruner)
	if !ok {
		return
	}
	m.storeMu.Lock()
	defer m.storeMu.Unlock()
	if n, err := p.Prune(); err != nil {
		m.log.LogAttrs(ctx, slog.LevelDebug, "pruning the credential cache failed", slog.String("error", err.Error()))
	} else if n > 0 {
		m.log.LogAttrs(ctx, slog.LevelInfo, "pruned expired credentials from the cache", slog.Int("records", n))
	}
}
