package cache

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/zalando/go-keyring"

	"github.com/codecommitd/codecommitd/internal/privdir"
)

// Key is the cache's encryption key and where it came from.
type Key struct {
	Bytes []byte
	// Source says where the key lives, for `codecommitd status`.
	Source string
	// Home names where the key lives, for the cache file to record:
	// "keyring", or "file:" and the key file's path.
	Home string
}

// Key homes recorded in a cache file.
const (
	homeKeyring = "keyring"
	homeFile    = "file:"
)

// KeyOptions says where to look for the key.
type KeyOptions struct {
	// File is a key file the user chose (--key-file); when set it is the
	// only place looked at.
	File string
	// Keyring reports whether to use the OS keyring (macOS Keychain,
	// Secret Service, Windows Credential Manager) when one answers.
	Keyring bool
	// RuntimeDir holds the fallback key file, cache.key; on Linux it is
	// the user's runtime folder (/run/user/<uid>/codecommitd), a tmpfs: the
	// key survives daemon restarts but not reboots. Empty means no
	// fallback.
	RuntimeDir string
	// Recorded is the key home the cache file records (Inspect), if any:
	// the key is looked for there first, and only there.
	Recorded string
}

// ErrKeyUnreachable reports that the cache file was sealed with a key that
// lives where this process cannot reach (another keyring session, another
// runtime folder): the file is not for this process to replace.
var ErrKeyUnreachable = errors.New("the cache's key cannot be reached from here")

// Keyring entry the key is stored under.
const (
	keyringService = "codecommitd"
	keyringUser    = "cache-key"
)

// ErrNoKey reports that no place to keep a key was found.
var ErrNoKey = errors.New("no place to keep the cache key")

// LoadKey returns the cache key, creating it where it should live when
// there is none yet. The key file given (--key-file) wins. Else the home the
// cache file records is used, so that whichever environment a daemon starts
// in, it opens the same cache with the same key; a recorded home that cannot
// be reached from here gives ErrKeyUnreachable, and a recorded key that is
// gone for good (the runtime folder is a tmpfs, emptied at reboot) is made
// anew. Else the OS keyring, when one answers, else the runtime key file.
func LoadKey(opts KeyOptions) (Key, error) {
	if opts.File != "" {
		b, err := fileKey(opts.File)
		return Key{b, "key file " + opts.File, homeFile + opts.File}, err
	}
	runtimeFile := ""
	if opts.RuntimeDir != "" {
		runtimeFile = filepath.Join(opts.RuntimeDir, "cache.key")
	}
	switch rec := opts.Recorded; {
	case rec == homeKeyring && opts.Keyring:
		b, err := keyringKey(false)
		switch {
		case err == nil:
			return Key{b, "OS keyring (service " + keyringService + ")", homeKeyring}, nil
		case !errors.Is(err, keyring.ErrNotFound):
			return Key{}, fmt.Errorf("%w: it is in the OS keyring, which does not answer here (%v)", ErrKeyUnreachable, shortErr(err))
		}
		// The keyring answers but holds no key: it is gone for good.
	case rec == homeKeyring:
		return Key{}, fmt.Errorf("%w: it is in the OS keyring, which this daemon is told not to use", ErrKeyUnreachable)
	case strings.HasPrefix(rec, homeFile):
		path := strings.TrimPrefix(rec, homeFile)
		b, err := readKeyFile(path)
		switch {
		case err == nil:
			return Key{b, "key file " + path, rec}, nil
		case !errors.Is(err, fs.ErrNotExist):
			return Key{}, err
		case path != runtimeFile:
			return Key{}, fmt.Errorf("%w: it is in %s, which does not exist here", ErrKeyUnreachable, path)
		}
		// This environment's own key file, gone: made anew below.
	}
	var why []string
	if opts.Keyring {
		b, err := keyringKey(true)
		if err == nil {
			return Key{b, "OS keyring (service " + keyringService + ")", homeKeyring}, nil
		}
		why = append(why, "keyring: "+shortErr(err))
	}
	if runtimeFile != "" {
		var b []byte
		err := privdir.Ensure(opts.RuntimeDir)
		if err == nil {
			b, err = fileKey(runtimeFile)
		}
		if err == nil {
			return Key{b, "key file " + runtimeFile, homeFile + runtimeFile}, nil
		}
		why = append(why, err.Error())
	}
	return Key{}, fmt.Errorf("%w (%s); give one with --key-file", ErrNoKey, strings.Join(why, "; "))
}

// keyringKey reads the key from the OS keyring, creating it there when
// create is set and there is none.
func keyringKey(create bool) ([]byte, error) {
	v, err := keyring.Get(keyringService, keyringUser)
	if errors.Is(err, keyring.ErrNotFound) && create {
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
	b, err := readKeyFile(path)
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
	return b, err
}

// readKeyFile reads the key in path: a small regular file of this user's,
// closed to others, holding a base64 key.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return nil, err
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("key file %s is not a regular file", path)
	case runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("key file %s is readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, 1024))
	if err != nil {
		return nil, err
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
