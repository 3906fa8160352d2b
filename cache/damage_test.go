package cache

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// goldenFile writes a real cache file with enough records for branch
// pages, overflow values and nested buckets, and returns its bytes.
func goldenFile(t testing.TB, key []byte) []byte {
	t.Helper()
	path := filepath.Join(privateDir(t), "golden.db")
	s, err := Open(path, key, Options{Now: func() time.Time { return t0 }, KeyHome: "file:/run/user/1000/codecommitd/cache.key"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 120 {
		if err := s.Save(fmt.Sprintf("key-%04d-%s", i, strings.Repeat("x", 60)), "p", creds(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	s.Touch("dev", t0)
	s.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// survive opens the damaged bytes as a cache and uses it every way the
// daemon, the one-shot path and forget do. It must never crash, and must
// end with a usable store.
func survive(t *testing.T, data []byte, key []byte) {
	t.Helper()
	path := filepath.Join(privateDir(t), "c.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, key, Options{Now: func() time.Time { return t0 }, Timeout: time.Second})
	if err != nil {
		t.Fatalf("Open failed instead of replacing the file: %v", err)
	}
	defer s.Close()
	s.Load("key-0001-" + strings.Repeat("x", 60))
	s.Len()
	s.Recent(t0.Add(-time.Hour))
	if _, err := s.DeleteProfile("p", false); err != nil {
		t.Fatalf("forget on the opened file: %v", err)
	}
	if err := s.Save("new", "p", creds("new")); err != nil {
		t.Fatalf("save on the opened file: %v", err)
	}
	if _, _, ok, err := s.Load("new"); !ok || err != nil {
		t.Fatalf("the opened file does not keep what is saved: %v", err)
	}
}

func TestEveryTruncationAndScribbleIsSurvived(t *testing.T) {
	key := testKey(t)
	golden := goldenFile(t, key)
	info, err := check(golden)
	if err != nil {
		t.Fatalf("the golden file does not pass the check: %v", err)
	}
	if info.keyHome != "file:/run/user/1000/codecommitd/cache.key" || !info.hasMeta {
		t.Fatalf("check read %+v from the golden file", info)
	}
	ps := info.pageSize
	t.Run("truncated", func(t *testing.T) {
		for cut := 0; cut < len(golden); cut += ps / 4 { // every page boundary and three points inside each page
			t.Run(fmt.Sprint(cut), func(t *testing.T) { survive(t, golden[:cut], key) })
		}
	})
	t.Run("scribbled", func(t *testing.T) {
		for page := 0; page*ps < len(golden); page++ {
			for _, at := range []int{0, 8, 16, 20, ps / 2, ps - 16} {
				for _, junk := range [][]byte{bytes.Repeat([]byte{0xff}, 24), bytes.Repeat([]byte{0}, 24), []byte("a scribble of 24 bytes!!")} {
					off := page*ps + at
					if off+len(junk) > len(golden) {
						continue
					}
					damaged := append([]byte(nil), golden...)
					copy(damaged[off:], junk)
					t.Run(fmt.Sprintf("page%d+%d/%x", page, at, junk[0]), func(t *testing.T) { survive(t, damaged, key) })
				}
			}
		}
	})
	t.Run("grown with junk", func(t *testing.T) {
		survive(t, append(append([]byte(nil), golden...), bytes.Repeat([]byte{0xee}, 3*ps)...), key)
	})
}

// FuzzCheckFile damages a real cache file (edits given as 4-byte groups:
// a 3-byte offset and the byte to write there, then an optional cut) and
// opens with bbolt every file the check passes: a fault or a panic there
// means the check let through a file that would have crashed the daemon.
func FuzzCheckFile(f *testing.F) {
	golden := goldenFile(f, testKey(f))
	f.Add([]byte{}, uint32(0))
	f.Add([]byte{0, 0x10, 20, 0xff}, uint32(0))
	f.Add([]byte{0, 0x30, 10, 0x01, 0, 0x40, 0, 0x00}, uint32(len(golden)/2))
	f.Fuzz(func(t *testing.T, edits []byte, cut uint32) {
		data := append([]byte(nil), golden...)
		for i := 0; i+4 <= len(edits); i += 4 {
			if at := int(edits[i])<<16 | int(edits[i+1])<<8 | int(edits[i+2]); at < len(data) {
				data[at] = edits[i+3]
			}
		}
		if cut != 0 && int(cut) < len(data) {
			data = data[:cut]
		}
		if _, err := check(data); err != nil {
			return
		}
		path := filepath.Join(privateDir(t), "c.db")
		os.WriteFile(path, data, 0o600)
		err := guard(func() error {
			db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
			if err != nil {
				return nil // refused cleanly
			}
			defer db.Close()
			return db.View(func(tx *bbolt.Tx) error {
				return tx.ForEach(func(_ []byte, b *bbolt.Bucket) error {
					if b == nil {
						return nil
					}
					return b.ForEach(func([]byte, []byte) error { return nil })
				})
			})
		})
		if err != nil && strings.Contains(err.Error(), errFault.Error()) {
			t.Fatalf("a file that passed the check faults bbolt: %v", err)
		}
	})
}

func TestAFileReplacedUnderTheStoreIsNoticed(t *testing.T) {
	path := filepath.Join(privateDir(t), "c.db")
	var log logRecorder
	s := open(t, path, testKey(t), &log)
	defer s.Close()
	if err := s.Save("a", "p", creds("a")); err != nil {
		t.Fatal(err)
	}
	// Something moves the file away and puts a directory in its place.
	os.Rename(path, path+".moved")
	os.Mkdir(path, 0o700)
	for range 3 {
		if err := s.Save("b", "p", creds("b")); err == nil {
			t.Fatal("a save into a replaced file succeeded silently")
		}
	}
	if p := s.Problem(); !strings.Contains(p, "replaced") {
		t.Fatalf("Problem() = %q", p)
	}
	if n := strings.Count(log.String(), "no longer used"); n != 1 {
		t.Fatalf("said %d times, want once:\n%s", n, log.String())
	}
	if _, _, _, err := s.Load("a"); err == nil {
		t.Fatal("reads go on from a file that is no longer in use")
	}
}
