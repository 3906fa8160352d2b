package localbroker

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/credmgr"
)

// RecentWindow is how far back status reports used profiles.
const RecentWindow = 7 * 24 * time.Hour

// usageWriteInterval bounds how often one profile's use is written to the
// store: a request must not cost a disk write.
const usageWriteInterval = time.Hour

// UsageStore is a Store that also remembers which profiles were used, so
// `codecommitd doctor` can check them after a restart.
type UsageStore interface {
	Touch(profile string, when time.Time) error
	Recent(since time.Time) (map[string]time.Time, error)
}

// usage tracks when each profile was last used.
type usage struct {
	mu        sync.Mutex
	lastUsed  map[string]time.Time
	persisted map[string]time.Time
}

func (u *usage) touch(ctx context.Context, store credmgr.Store, profile string, now time.Time, log *slog.Logger) {
	u.mu.Lock()
	if u.lastUsed == nil {
		u.lastUsed, u.persisted = map[string]time.Time{}, map[string]time.Time{}
	}
	u.lastUsed[profile] = now
	write := now.Sub(u.persisted[profile]) >= usageWriteInterval
	if write {
		u.persisted[profile] = now
	}
	u.mu.Unlock()
	if us, ok := store.(UsageStore); ok && write {
		if err := us.Touch(profile, now); err != nil {
			// The store says once, itself, when it cannot be written.
			log.DebugContext(ctx, "cannot record profile use", "profile", profile, "error", err.Error())
		}
	}
}

func (u *usage) recent(store credmgr.Store, since time.Time) []broker.RecentProfile {
	all := map[string]time.Time{}
	if us, ok := store.(UsageStore); ok {
		if m, err := us.Recent(since); err == nil {
			all = m
		}
	}
	u.mu.Lock()
	for p, t := range u.lastUsed {
		if t.After(all[p]) {
			all[p] = t
		}
	}
	u.mu.Unlock()
	out := make([]broker.RecentProfile, 0, len(all))
	for p, t := range all {
		if !t.Before(since) {
			out = append(out, broker.RecentProfile{Profile: p, LastUsed: t})
		}
	}
	slices.SortFunc(out, func(a, b broker.RecentProfile) int { return b.LastUsed.Compare(a.LastUsed) })
	return out
}
