package cache

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/codecommitd/codecommitd/internal/sigv4"
)

var update = flag.Bool("update", false, "rewrite the testdata fixtures")

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func testKey(t testing.TB) []byte {
	k := make([]byte, KeySize)
	rand.Read(k)
	return k
}

func creds(n string) sigv4.Credentials {
	return sigv4.Credentials{AccessKeyID: "ASIA" + n, SecretAccessKey: "secret-" + n, SessionToken: "token-" + n,
		Expires: t0.Add(time.Hour), Source: "AssumeRoleProvider"}
}

// privateDir is a temporary folder closed to others, as the cache's
// folder must be (t.TempDir makes it 0755).
func privateDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

type logRecorder struct{ bytes.Buffer }

func open(t testing.TB, path string, key []byte, log *logRecorder) *Store {
	t.Helper()
	opts := Options{Now: func() time.Time { return t0 }}
	if log != nil {
		opts.Log = slog.New(slog.NewTextHandler(log, nil))
	}
	s, err := Open(path, key, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "cache.db")
	key := testKey(t)
	s := open(t, path, key, nil)
	if err := s.Save("k1", "dev", creds("1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Save("k2", "prod", creds("2")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path, key, nil)
	defer s.Close()
	if got, profile, ok, _ := s.Load("k1"); !ok || got != creds("1") || profile != "dev" {
		t.Fatalf("Load(k1) = %v, %q, %v", got, profile, ok)
	}
	if _, _, ok, _ := s.Load("nope"); ok {
		t.Fatal("Load(nope) hit")
	}
	if err := s.Delete("k2"); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := s.Load("k2"); ok {
		t.Fatal("deleted key still loads")
	}
	for _, p := range []string{path, filepath.Dir(path)} {
		fi, _ := os.Stat(p)
		if want := map[bool]os.FileMode{true: 0o700, false: 0o600}[fi.IsDir()]; fi.Mode().Perm() != want {
			t.Errorf("%s mode = %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
}

func TestRefusesLongTermKeys(t *testing.T) {
	s := open(t, filepath.Join(privateDir(t), "c.db"), testKey(t), nil)
	defer s.Close()
	for _, c := range []sigv4.Credentials{
		{AccessKeyID: "AKIA", SecretAccessKey: "s"},
		{AccessKeyID: "AKIA", SecretAccessKey: "s", Expires: t0.Add(time.Hour)},
		{AccessKeyID: "ASIA", SecretAccessKey: "s", SessionToken: "t"},
	} {
		if err := s.Save("k", "p", c); err == nil {
			t.Errorf("Save(%v) persisted credentials without both a token and an expiry", c)
		}
	}
}

func TestExpiredArePrunedAndMissed(t *testing.T) {
	path := filepath.Join(privateDir(t), "c.db")
	key := testKey(t)
	s := open(t, path, key, nil)
	old := creds("old")
	old.Expires = t0.Add(-time.Minute)
	s.Save("old", "p", old)
	s.Save("new", "p", creds("new"))
	if _, _, ok, _ := s.Load("old"); ok {
		t.Fatal("expired record loaded")
	}
	s.Close()
	s = open(t, path, key, nil) // Open prunes
	defer s.Close()
	if n, _ := s.Len(); n != 1 {
		t.Fatalf("records after reopen = %d, want 1 (expired pruned)", n)
	}
}

func TestNoPlaintextOnDisk(t *testing.T) {
	path := filepath.Join(privateDir(t), "c.db")
	s := open(t, path, testKey(t), nil)
	c := creds("PLAINTEXTCHECK")
	s.Save("k", "profile-name", c)
	s.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{c.AccessKeyID, c.SecretAccessKey, c.SessionToken, "PLAINTEXTCHECK", "profile-name"} {
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("cache file contains %q in the clear", secret)
		}
	}
}

func TestSwappedRecordsDoNotOpen(t *testing.T) {
	path := filepath.Join(privateDir(t), "c.db")
	key := testKey(t)
	s := open(t, path, key, nil)
	s.Save("alice", "alice", creds("A"))
	s.Save("bob", "bob", creds("B"))
	// An attacker (or a bug) copies alice's sealed record under bob.
	if err := s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketCredentials)
		return b.Put([]byte("bob"), append([]byte(nil), b.Get([]byte("alice"))...))
	}); err != nil {
		t.Fatal(err)
	}
	if got, _, ok, _ := s.Load("bob"); ok {
		t.Fatalf("swapped record opened under another key: %v", got)
	}
	if _, _, ok, _ := s.Load("alice"); !ok {
		t.Fatal("the original record no longer opens")
	}
	s.Close()
}

func asideFiles(path string) []string {
	m, _ := filepath.Glob(path + ".unreadable-*")
	return m
}

func TestUnreadableFilesAreMovedAside(t *testing.T) {
	valid := func(t *testing.T, path string, key []byte) {
		s := open(t, path, key, nil)
		for i := range 50 {
			s.Save(strings.Repeat("k", 10)+string(rune('a'+i%26))+string(rune('a'+i/26)), "p", creds("x"))
		}
		s.Close()
	}
	tests := []struct {
		name  string
		spoil func(t *testing.T, path string, key []byte) []byte // returns the key to reopen with
	}{
		{"wrong key", func(t *testing.T, path string, key []byte) []byte { return testKey(t) }},
		{"truncated", func(t *testing.T, path string, key []byte) []byte {
			fi, _ := os.Stat(path)
			os.Truncate(path, fi.Size()/3)
			return key
		}},
		{"scribbled", func(t *testing.T, path string, key []byte) []byte {
			f, _ := os.OpenFile(path, os.O_RDWR, 0)
			junk := make([]byte, 8192)
			rand.Read(junk)
			f.WriteAt(junk, 0)
			f.Close()
			return key
		}},
		{"unknown schema", func(t *testing.T, path string, key []byte) []byte {
			db, _ := bbolt.Open(path, 0o600, nil)
			db.Update(func(tx *bbolt.Tx) error {
				var v [8]byte
				binary.BigEndian.PutUint64(v[:], 99)
				return tx.Bucket(bucketMeta).Put(keySchemaVersion, v[:])
			})
			db.Close()
			return key
		}},
		{"not a database", func(t *testing.T, path string, key []byte) []byte {
			os.WriteFile(path, []byte("hello, I am not bbolt\n"), 0o600)
			return key
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(privateDir(t), "c.db")
			key := testKey(t)
			valid(t, path, key)
			key = tt.spoil(t, path, key)
			var log logRecorder
			s := open(t, path, key, &log)
			defer s.Close()
			if n, _ := s.Len(); n != 0 {
				t.Errorf("records in the replacement = %d, want 0", n)
			}
			if len(asideFiles(path)) != 1 {
				t.Errorf("files moved aside = %v, want 1", asideFiles(path))
			}
			if c := strings.Count(log.String(), "moved it aside"); c != 1 {
				t.Errorf("logged %d times, want once:\n%s", c, log.String())
			}
			// status says so too, for as long as this daemon runs.
			if aside := asideFiles(path); len(aside) == 1 {
				want := regexp.MustCompile(`^could not be read at start \(.+\); moved it aside to ` + regexp.QuoteMeta(aside[0]) + ` and started an empty one$`)
				if !want.MatchString(s.Problem()) {
					t.Errorf("Problem() = %q, want it to say the file was set aside to %s", s.Problem(), aside[0])
				}
			}
			// The replacement works.
			if err := s.Save("k", "p", creds("new")); err != nil {
				t.Fatal(err)
			}
			if _, _, ok, _ := s.Load("k"); !ok {
				t.Fatal("the replacement cache does not store")
			}
		})
	}
}

func TestKeepsOnlyRecentAsideFiles(t *testing.T) {
	path := filepath.Join(privateDir(t), "c.db")
	for i := range 5 {
		os.WriteFile(path, []byte("junk"), 0o600)
		s, err := Open(path, testKey(t), Options{Now: func() time.Time { return t0.Add(time.Duration(i) * time.Second) }})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	if got := asideFiles(path); len(got) != keepAside {
		t.Fatalf("aside files = %v, want %d", got, keepAside)
	}
}

func TestSecondOpenerGetsErrLocked(t *testing.T) {
	path := filepath.Join(privateDir(t), "c.db")
	key := testKey(t)
	s := open(t, path, key, nil)
	defer s.Close()
	_, err := Open(path, key, Options{Timeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	if len(asideFiles(path)) != 0 {
		t.Fatal("a locked file was moved aside")
	}
}

// The v0 fixture was written by the first development format: no meta
// bucket, records sealed without the schema version. Regenerate with
// go test ./cache -run TestMigrationFromV0 -update.
func TestMigrationFromV0(t *testing.T) {
	fixture, keyFile := filepath.Join("testdata", "v0.db"), filepath.Join("testdata", "v0.key")
	if *update {
		writeV0Fixture(t, fixture, keyFile)
	}
	key, err := decodeKey(mustRead(t, keyFile))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(privateDir(t), "c.db")
	os.WriteFile(path, []byte(mustRead(t, fixture)), 0o600)
	var log logRecorder
	s := open(t, path, key, &log)
	defer s.Close()
	got, _, ok, _ := s.Load("fixture-key")
	if !ok || got.AccessKeyID != "ASIAFIXTURE" || got.SessionToken != "fixture-token" {
		t.Fatalf("migrated record = %v, %v", got, ok)
	}
	if !strings.Contains(log.String(), "migrated the credential cache") {
		t.Errorf("migration not logged:\n%s", log.String())
	}
	s.db.View(func(tx *bbolt.Tx) error {
		if v := binary.BigEndian.Uint64(tx.Bucket(bucketMeta).Get(keySchemaVersion)); v != SchemaVersion {
			t.Errorf("schema version after migration = %d", v)
		}
		return nil
	})
	if len(asideFiles(path)) != 0 {
		t.Error("a migratable file was moved aside")
	}
}

func writeV0Fixture(t *testing.T, fixture, keyFile string) {
	os.MkdirAll("testdata", 0o755)
	key := testKey(t)
	s := &Store{}
	block, _ := newAEAD(key)
	s.aead = block
	db, err := bbolt.Open(fixture+".tmp", 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte(`{"profile":"dev","access_key_id":"ASIAFIXTURE","secret_access_key":"fixture-secret","session_token":"fixture-token","expires":"2099-01-01T00:00:00Z","source":"AssumeRoleProvider","saved_at":"2026-01-01T00:00:00Z"}`)
	db.Update(func(tx *bbolt.Tx) error {
		b, _ := tx.CreateBucket(bucketCredentials)
		return b.Put([]byte("fixture-key"), s.aead.Seal(nil, nil, plain, []byte("codecommitd/credentials/fixture-key")))
	})
	db.Close()
	os.Rename(fixture+".tmp", fixture)
	os.WriteFile(keyFile, []byte(encodeKey(key)+"\n"), 0o644)
}

func mustRead(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func FuzzDecodeRecord(f *testing.F) {
	s := &Store{}
	s.aead, _ = newAEAD(make([]byte, KeySize))
	good := s.seal(SchemaVersion, bucketCredentials, []byte("k"), []byte(`{"access_key_id":"A","secret_access_key":"S","session_token":"T","expires":"2099-01-01T00:00:00Z"}`))
	f.Add([]byte("k"), good)
	f.Add([]byte("k"), []byte{})
	f.Add([]byte("other"), good)
	f.Fuzz(func(t *testing.T, key, sealed []byte) {
		r, err := s.decodeRecord(key, sealed)
		if err != nil {
			return
		}
		// Nothing but the one record sealed under "k" may open: GCM
		// cannot be forged, and the additional data binds the key.
		if !bytes.Equal(key, []byte("k")) || !bytes.Equal(sealed, good) || r.AccessKeyID != "A" {
			t.Fatalf("decoded %+v from key %q and %x", r, key, sealed)
		}
	})
}

// TestCorruptPageInsideTheTree spoils a page in the middle of the file,
// which only bbolt's consistency check (or a panic while reading) finds.
func TestCorruptPageInsideTheTree(t *testing.T) {
	path := filepath.Join(privateDir(t), "c.db")
	key := testKey(t)
	s := open(t, path, key, nil)
	for i := range 400 {
		s.Save(fmt.Sprintf("key-%04d-%s", i, strings.Repeat("x", 40)), "p", creds(fmt.Sprint(i)))
	}
	s.Close()
	fi, _ := os.Stat(path)
	page := int64(os.Getpagesize())
	if fi.Size() < 8*page {
		t.Fatalf("file too small to have inner pages: %d", fi.Size())
	}
	f, _ := os.OpenFile(path, os.O_RDWR, 0)
	junk := bytes.Repeat([]byte{0xA5}, int(page))
	f.WriteAt(junk, 4*page) // not the meta pages (0, 1)
	f.WriteAt(junk, fi.Size()-2*page)
	f.Close()
	before := runtime.NumGoroutine()
	var log logRecorder
	s = open(t, path, key, &log)
	defer s.Close()
	if n, _ := s.Len(); n != 0 || len(asideFiles(path)) != 1 {
		t.Errorf("corrupt inner pages: %d records, aside %v; want a fresh cache and the old one aside", n, asideFiles(path))
	}
	if runtime.NumGoroutine() > before+1 {
		t.Errorf("goroutines: %d before, %d after (the consistency checker leaked)", before, runtime.NumGoroutine())
	}
}
