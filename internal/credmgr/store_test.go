package credmgr

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/codecommitd/codecommitd/internal/sigv4"
)

type stored struct {
	c       sigv4.Credentials
	profile string
}

// memStore is an in-memory Store, safe for the manager's goroutines.
type memStore struct {
	mu sync.Mutex
	m  map[string]stored
}

func (s *memStore) Load(k string) (sigv4.Credentials, string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	return v.c, v.profile, ok, nil
}
func (s *memStore) Save(k, p string, c sigv4.Credentials) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = stored{c, p}
	return nil
}
func (s *memStore) Delete(k string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
	return nil
}
func (s *memStore) get(k string) (stored, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	return v, ok
}
func (s *memStore) DeleteProfile(p string, all bool) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var gone []string
	for k, v := range s.m {
		if all || v.profile == p {
			gone = append(gone, k)
			delete(s.m, k)
		}
	}
	return gone, nil
}

func TestManagerRestoresFromStore(t *testing.T) {
	store := &memStore{m: map[string]stored{}}
	m, _, src := newManager(t)
	m.Store = store
	if _, err := m.Get(context.Background(), spec(src)); err != nil {
		t.Fatal(err)
	}
	m.Flush()
	if _, ok := store.get("k"); !ok {
		t.Fatal("temporary credentials were not persisted")
	}
	// A new manager (a restarted daemon) serves them without fetching.
	m2, _, src2 := newManager(t)
	m2.Store = store
	if c, ok := m2.Peek("k"); !ok || c.AccessKeyID != "ASIA1" {
		t.Fatalf("Peek after restart = %v, %v", c, ok)
	}
	if c, err := m2.Get(context.Background(), spec(src2)); err != nil || c.AccessKeyID != "ASIA1" || src2.calls.Load() != 0 {
		t.Fatalf("Get after restart = %v, %v with %d fetches; want the stored ASIA1 and none", c, err, src2.calls.Load())
	}
	// Long-term keys are never offered to the store.
	static := &source{clock: m.Clock}
	m.Get(context.Background(), Spec{Key: "static", Fetch: static.fetch})
	m.Flush()
	if _, ok := store.get("static"); ok {
		t.Fatal("credentials without an expiry were persisted")
	}
}

// lockedWriter is a log sink safe for concurrent writers.
type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func newTextLogger(b *strings.Builder) *slog.Logger {
	return slog.New(slog.NewTextHandler(&lockedWriter{w: b}, nil))
}
