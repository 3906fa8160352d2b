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
	bad := filepath.Join(t.TempDir(), "bad.key")
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
	k1, err := LoadKey(KeyOptions{Keyring: true, RuntimeDir: t.TempDir()})
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
	dir := t.TempDir()
	k3, err := LoadKey(KeyOptions{Keyring: true, RuntimeDir: dir})
	if err != nil || !strings.Contains(k3.Source, "key file") {
		t.Fatalf("with the keyring down: %v, %v; want the runtime key file", k3.Source, err)
	}
}
