package credmgr

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/codecommitd/codecommitd/internal/credmgr/credmgrtest"
)

func TestManagerRestoresFromStore(t *testing.T) {
	store := &credmgrtest.Store{}
	m, src := newManager(t, Config{Store: store})
	if _, err := m.Get(context.Background(), spec(src)); err != nil {
		t.Fatal(err)
	}
	m.flush()
	if _, ok := store.Get("k"); !ok {
		t.Fatal("temporary credentials were not persisted")
	}
	// A new manager (a restarted daemon) serves them without fetching.
	m2, src2 := newManager(t, Config{Store: store})
	if c, ok := m2.Peek("k"); !ok || c.AccessKeyID != "ASIA1" {
		t.Fatalf("Peek after restart = %v, %v", c, ok)
	}
	if c, err := m2.Get(context.Background(), spec(src2)); err != nil || c.AccessKeyID != "ASIA1" || src2.Calls() != 0 {
		t.Fatalf("Get after restart = %v, %v with %d fetches; want the stored ASIA1 and none", c, err, src2.Calls())
	}
	// Long-term keys are never offered to the store.
	static := &credmgrtest.Source{}
	m.Get(context.Background(), Spec{Key: "static", Fetch: static.Fetch})
	m.flush()
	if _, ok := store.Get("static"); ok {
		t.Fatal("credentials without an expiry were persisted")
	}
}

// lockedWriter is a log sink safe for concurrent writers.
type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// logger returns a text logger writing to l.
func (l *lockedWriter) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }
