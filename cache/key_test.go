package cache

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"
)

func TestKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run", "codecommitd")
	k1, err := LoadKey(KeyOptions{RuntimeDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(k1.Bytes) != KeySize || !strings.Contains(k1.Source, filepath.Join(dir, "cache.key")) {
		t.Fatalf("key = %d bytes from %q", len(k1.Bytes), k1.Source)
	}
	fi, _ := os.Stat(filepath.Join(dir, "cache.key"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
	k2, err := LoadKey(KeyOptions{RuntimeDir: dir})
	if err != nil || !bytes.Equal(k1.Bytes, k2.Bytes) {
		t.Fatalf("second load = %v, %v; want the same key", k2, err)
	}
	os.Chmod(filepath.Join(dir, "cache.key"), 0o644)
	if _, err := LoadKey(KeyOptions{RuntimeDir: dir}); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable key file accepted: %v", err)
	}
	bad := filepath.Join(privateDir(t), "bad.key")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	if _, err := LoadKey(KeyOptions{File: bad, Keyring: true, RuntimeDir: dir}); err == nil {
		t.Error("a malformed --key-file was accepted (or another source was used instead)")
	}
	if _, err := LoadKey(KeyOptions{}); !errors.Is(err, ErrNoKey) {
		t.Errorf("no source: %v, want ErrNoKey", err)
	}
}

func TestKeyring(t *testing.T) {
	keyring.MockInit()
	k1, err := LoadKey(KeyOptions{Keyring: true, RuntimeDir: privateDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(k1.Source, "keyring") {
		t.Fatalf("source = %q, want the keyring", k1.Source)
	}
	k2, _ := LoadKey(KeyOptions{Keyring: true})
	if !bytes.Equal(k1.Bytes, k2.Bytes) {
		t.Fatal("keyring gave a different key the second time")
	}
	keyring.MockInitWithError(errors.New("no secret service"))
	dir := filepath.Join(t.TempDir(), "run")
	k3, err := LoadKey(KeyOptions{Keyring: true, RuntimeDir: dir})
	if err != nil || !strings.Contains(k3.Source, "key file") {
		t.Fatalf("with the keyring down: %v, %v; want the runtime key file", k3.Source, err)
	}
}

func TestRecordedKeyHomeIsUsedAndNeverReplacedFromElsewhere(t *testing.T) {
	keyring.MockInit()
	runtimeA := filepath.Join(t.TempDir(), "a")
	runtimeB := filepath.Join(t.TempDir(), "b")
	// A cache sealed with the key file of runtime folder A.
	kA, err := LoadKey(KeyOptions{RuntimeDir: runtimeA})
	if err != nil || kA.Home != "file:"+filepath.Join(runtimeA, "cache.key") {
		t.Fatalf("key = %+v, %v", kA, err)
	}
	// Another environment (runtime folder B, a keyring) finds A's key
	// through the record, not a new one of its own.
	got, err := LoadKey(KeyOptions{Keyring: true, RuntimeDir: runtimeB, Recorded: kA.Home})
	if err != nil || !bytes.Equal(got.Bytes, kA.Bytes) {
		t.Fatalf("with the home recorded: %+v, %v; want A's key", got.Source, err)
	}
	// A's key file does not exist from B's point of view: unreachable,
	// and nothing is created.
	os.RemoveAll(runtimeA)
	if _, err := LoadKey(KeyOptions{RuntimeDir: runtimeB, Recorded: kA.Home}); !errors.Is(err, ErrKeyUnreachable) {
		t.Fatalf("a recorded key out of reach = %v, want ErrKeyUnreachable", err)
	}
	if _, err := os.Stat(filepath.Join(runtimeB, "cache.key")); err == nil {
		t.Fatal("a new key was made although the cache records another")
	}
	// In A's own environment the key is gone for good (a reboot emptied
	// the tmpfs): a new one is made where it belongs.
	k2, err := LoadKey(KeyOptions{RuntimeDir: runtimeA, Recorded: kA.Home})
	if err != nil || k2.Home != kA.Home || bytes.Equal(k2.Bytes, kA.Bytes) {
		t.Fatalf("after a reboot: %+v, %v; want a new key in the same place", k2, err)
	}
	// A cache sealed with the keyring's key, opened where no keyring
	// answers: unreachable, not replaced.
	kr, _ := LoadKey(KeyOptions{Keyring: true, RuntimeDir: runtimeB})
	keyring.MockInitWithError(errors.New("no secret service"))
	if _, err := LoadKey(KeyOptions{Keyring: true, RuntimeDir: runtimeB, Recorded: kr.Home}); !errors.Is(err, ErrKeyUnreachable) {
		t.Fatalf("keyring key without a keyring = %v, want ErrKeyUnreachable", err)
	}
}
