package cache

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/zalando/go-keyring"
)

// Key is the cache's encryption key and where it came from.
type Key struct {
	Bytes []byte
	// Source says where the key lives, for `codecommitd status`.
	Source string
}

// KeyOptions says where to look for the key.
type KeyOptions struct {
	// File is a key file the user chose (--key-file); when set it is the
	// only place looked at.
	File string
	// Keyring reports whether to use the OS keyring (macOS Keychain,
	// Secret Service, Windows Credential Manager) when one answers.
	Keyring bool
	// RuntimeDir holds the fallback key file, cache.key; on Linux it is
	// $XDG_RUNTIME_DIR/codecommitd, a tmpfs: the key survives daemon
	// restarts but not reboots. Empty means no fallback.
	RuntimeDir string
}

// Keyring entry the key is stored under.
const (
	keyringService = "codecommitd"
	keyringUser    = "cache-key"
)

// ErrNoKey reports that no place to keep a key was found.
var ErrNoKey = errors.New("no place to keep the cache key")

// LoadKey returns the cache key, creating it where it should live when
// there is none yet: the key file given, else the OS keyring, else the
// runtime key file.
func LoadKey(opts KeyOptions) (Key, error) {
	if opts.File != "" {
		b, err := fileKey(opts.File)
		return Key{b, "key file " + opts.File}, err
	}
	var why []string
	if opts.Keyring {
		b, err := keyringKey()
		if err == nil {
			return Key{b, "OS keyring (service " + keyringService + ")"}, nil
		}
		why = append(why, "keyring: "+err.Error())
	}
	if opts.RuntimeDir != "" {
		p := filepath.Join(opts.RuntimeDir, "cache.key")
		b, err := fileKey(p)
		if err == nil {
			return Key{b, "key file " + p}, nil
		}
		why = append(why, err.Error())
	}
	return Key{}, fmt.Errorf("%w (%s); give one with --key-file", ErrNoKey, strings.Join(why, "; "))
}

func keyringKey() ([]byte, error) {
	v, err := keyring.Get(keyringService, keyringUser)
	if errors.Is(err, keyring.ErrNotFound) {
		k, err := newKey()
		if err != nil {
			return nil, err
		}
		if err := keyring.Set(keyringService, keyringUser, encodeKey(k)); err != nil {
			return nil, err
		}
		return k, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeKey(v)
}

// fileKey reads the key in path, or creates the file (0600, in a 0700
// folder) with a new key when it does not exist.
func fileKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		k, err := newKey()
		if err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return fileKey(path) // another process made it first
		}
		if err != nil {
			return nil, err
		}
		_, werr := f.WriteString(encodeKey(k) + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			os.Remove(path)
			return nil, werr
		}
		return k, nil
	}
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(path); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s is readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	k, err := decodeKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

func newKey() ([]byte, error) {
	k := make([]byte, KeySize)
	_, err := rand.Read(k)
	return k, err
}

func encodeKey(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

func decodeKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(k) != KeySize {
		return nil, fmt.Errorf("not a base64 %d-byte key", KeySize)
	}
	return k, nil
}
