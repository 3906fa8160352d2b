// Package credmgrtest holds the fakes of what a credential manager
// (package credmgr) is given, for the tests of credmgr and of its callers:
// a credential source and an in-memory Store. Tests only: no binary links
// it.
//
// It does not import credmgr (credmgr's own tests import it); its types
// fit credmgr's by shape: Source.Fetch is a credmgr.FetchFunc, *Store a
// credmgr.Store.
package credmgrtest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codecommitd/codecommitd/internal/sigv4"
)

// Source is a fake credential source. The n-th Fetch returns new
// credentials with access key id ASIA<n>, lasting Life from time.Now (so
// under testing/synctest, from the bubble's clock), or the next error
// queued with FailNext. The zero value issues credentials that never
// expire.
type Source struct {
	// Life is how long issued credentials last; zero means no expiry.
	Life time.Duration
	// Gate, if set, makes each Fetch wait for a receive from it, or for
	// its context to end. Set it before the fetches it should hold start.
	Gate chan struct{}

	calls atomic.Int32
	mu    sync.Mutex
	errs  []error
}

// Fetch is the source's credmgr.FetchFunc.
func (s *Source) Fetch(ctx context.Context) (sigv4.Credentials, error) {
	n := s.calls.Add(1)
	if s.Gate != nil {
		select {
		case <-s.Gate:
		case <-ctx.Done():
			return sigv4.Credentials{}, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) > 0 {
		err := s.errs[0]
		s.errs = s.errs[1:]
		return sigv4.Credentials{}, err
	}
	c := sigv4.Credentials{AccessKeyID: fmt.Sprintf("ASIA%d", n), SecretAccessKey: "s", SessionToken: "t"}
	if s.Life != 0 {
		c.Expires = time.Now().Add(s.Life)
	}
	return c, nil
}

// FailNext queues err as the answer of a coming Fetch, after those queued
// before.
func (s *Source) FailNext(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err)
}

// Calls returns how many times Fetch was called.
func (s *Source) Calls() int { return int(s.calls.Load()) }

// Record is what a Store holds for a key.
type Record struct {
	Creds   sigv4.Credentials
	Profile string
}

// Store is an in-memory credmgr.Store, safe for concurrent use. The zero
// value is an empty store.
type Store struct {
	mu sync.Mutex
	m  map[string]Record
}

// Load implements credmgr.Store. It returns what was saved, expired or not.
func (s *Store) Load(key string) (sigv4.Credentials, string, bool, error) {
	r, ok := s.Get(key)
	return r.Creds, r.Profile, ok, nil
}

// Save implements credmgr.Store.
func (s *Store) Save(key, profile string, c sigv4.Credentials) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]Record)
	}
	s.m[key] = Record{c, profile}
	return nil
}

// Delete implements credmgr.Store.
func (s *Store) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

// DeleteProfile implements credmgr.Store.
func (s *Store) DeleteProfile(profile string, all bool) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var gone []string
	for k, r := range s.m {
		if all || r.Profile == profile {
			gone = append(gone, k)
			delete(s.m, k)
		}
	}
	return gone, nil
}

// Get returns the record of key, if there is one.
func (s *Store) Get(key string) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[key]
	return r, ok
}

// Len returns how many records the store holds.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
