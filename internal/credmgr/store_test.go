package credmgr

import (
	"context"
	"testing"

	"github.com/codecommitd/codecommitd/internal/sigv4"
)

type stored struct {
	c       sigv4.Credentials
	profile string
}

type memStore struct{ m map[string]stored }

func (s *memStore) Load(k string) (sigv4.Credentials, string, bool) {
	v, ok := s.m[k]
	return v.c, v.profile, ok
}
func (s *memStore) Save(k, p string, c sigv4.Credentials) error {
	s.m[k] = stored{c, p}
	return nil
}
func (s *memStore) Delete(k string) error { delete(s.m, k); return nil }
func (s *memStore) DeleteProfile(p string, all bool) ([]string, error) {
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
	if _, ok := store.m["k"]; !ok {
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
	if _, ok := store.m["static"]; ok {
		t.Fatal("credentials without an expiry were persisted")
	}
}
