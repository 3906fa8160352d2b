package cache

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// TestHelperWriter is not a test: TestKillDuringWrites runs the test binary
// as a child that writes records in a loop until it is killed, printing a
// line after each commit.
func TestHelperWriter(t *testing.T) {
	path, key := os.Getenv("CACHE_WRITER_PATH"), os.Getenv("CACHE_WRITER_KEY")
	if path == "" {
		t.Skip("only runs as the child of TestKillDuringWrites")
	}
	k, _ := base64.StdEncoding.DecodeString(key)
	s, err := Open(path, k, Options{Now: func() time.Time { return t0 }})
	if err != nil {
		fmt.Println("open failed:", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		key := "k" + strconv.Itoa(i%64)
		if i%5 == 4 {
			s.Delete(key)
		} else if err := s.Save(key, "p", creds(strconv.Itoa(i))); err != nil {
			fmt.Println("save failed:", err)
			os.Exit(2)
		}
		fmt.Fprintln(out, i)
		out.Flush()
	}
}

func TestKillDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns and kills 20 writers")
	}
	path := filepath.Join(privateDir(t), "c.db")
	key := testKey(t)
	for round := range 20 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$")
		cmd.Env = append(os.Environ(), "CACHE_WRITER_PATH="+path, "CACHE_WRITER_KEY="+base64.StdEncoding.EncodeToString(key))
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill it after a random number of commits, in the middle of the
		// next write.
		lines := bufio.NewScanner(stdout)
		want := 1 + rand.IntN(200)
		for n := 0; n < want && lines.Scan(); n++ {
		}
		cmd.Process.Kill()
		cmd.Wait()

		s, err := Open(path, key, Options{Now: func() time.Time { return t0 }})
		if err != nil {
			t.Fatalf("round %d: cache does not open after kill -9: %v", round, err)
		}
		if aside := asideFiles(path); len(aside) != 0 {
			t.Fatalf("round %d: cache was unreadable after kill -9 and moved aside", round)
		}
		n, err := s.Len()
		if err != nil {
			t.Fatal(err)
		}
		// Every record left behind is whole: it opens and decodes.
		if err := s.db.View(func(tx *bbolt.Tx) error {
			b := tx.Bucket(bucketCredentials)
			if b == nil {
				return nil
			}
			return b.ForEach(func(k, v []byte) error {
				if _, err := s.decodeRecord(k, v); err != nil {
					t.Errorf("round %d: record %s after kill -9: %v", round, k, err)
				}
				return nil
			})
		}); err != nil {
			t.Fatal(err)
		}
		if n == 0 && round > 0 {
			t.Errorf("round %d: all records lost", round)
		}
		s.Close()
	}
}
