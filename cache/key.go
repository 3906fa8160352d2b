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
		runtimeFile = RuntimeKeyFile(opts.RuntimeDir)
	}
	switch rec := opts.Recorded; {
	case rec == homeKeyring && opts.Keyring:
		b, err := keyringKey(false)
		switch {
		case err == nil:
			return Key{b, keyringSource, homeKeyring}, nil
		case !errors.Is(err, keyring.ErrNotFound):
			return Key{}, fmt.Errorf("%w: it is in the OS keyring, which does not answer here (%v)", ErrKeyUnreachable, shortErr(err))
		}
		// The keyring answers but holds no key: it is gone for good.
	case rec == homeKeyring:
		return Key{}, fmt.Errorf("%w: it is in the OS keyring, which this daemon is told not to use", ErrKeyUnreachable)
	case strings.HasPrefix(rec, homeFile):
		path := strings.TrimPrefix(rec, homeFile)
		// The record may outlive its folder (a /tmp emptied since), and
		// another user may have made one of that name: only a folder of
		// ours, closed to others, is looked into.
		if err := privdir.Check(filepath.Dir(path)); err != nil && !privdir.IsNotExist(err) {
			return Key{}, fmt.Errorf("%w: it is recorded in %s, whose folder %s, so it is not read (if that key is gone for good, move the cache file away to start a new one)", ErrKeyUnreachable, path, err.Error())
		}
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
			return Key{b, keyringSource, homeKeyring}, nil
		}
		why = append(why, "keyring: "+shortErr(err))
	}
	if runtimeFile != "" {
		b, err := fileKey(runtimeFile)
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
// folder of ours) with a new key when it does not exist. A folder that is
// not private is refused and never changed.
func fileKey(path string) ([]byte, error) {
	if err := privdir.Refusal(privdir.Ensure(filepath.Dir(path)), "keep the cache key", "--key-file"); err != nil {
		return nil, err
	}
	// Bounded: another process may create the file between our read and
	// our create, or remove it between our create and our read.
	for range 3 {
		b, err := readKeyFile(path)
		if !errors.Is(err, fs.ErrNotExist) {
			return b, err
		}
		b, err = createKeyFile(path)
		if !errors.Is(err, fs.ErrExist) {
			return b, err
		}
	}
	return nil, fmt.Errorf("key file %s keeps appearing and vanishing; is another program removing it?", path)
}

// createKeyFile writes a new key to path, which must not exist (O_EXCL:
// nothing at the path is followed or overwritten).
func createKeyFile(path string) ([]byte, error) {
	k, err := newKey()
	if err != nil {
		return nil, err
	}
	f, err := privdir.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, keyFileError(path, err)
	}
	_, werr := f.WriteString(encodeKey(k) + "\n")
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(path)
		return nil, fmt.Errorf("writing key file %s: %w", path, werr)
	}
	return k, nil
}

// readKeyFile reads the key in path: a small regular file of this user's,
// closed to others, holding a base64 key. It is opened as privdir opens
// what another user may have placed: a symlink or a FIFO there is refused
// at once, never followed or waited on.
func readKeyFile(path string) ([]byte, error) {
	f, err := privdir.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, keyFileError(path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1024))
	if err != nil {
		return nil, fmt.Errorf("reading key file %s: %w", path, err)
	}
	k, err := decodeKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w; give the file codecommitd made, or move it away for a new key (the cache it sealed is then set aside)", path, err)
	}
	return k, nil
}

// keyFileError says in one line why the key file at path cannot be used;
// fs.ErrNotExist and fs.ErrExist stay testable.
func keyFileError(path string, err error) error {
	var fe *privdir.FileError
	if errors.As(err, &fe) {
		return fmt.Errorf("key file %w; %s", fe, fe.Fix("--key-file"))
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrExist) {
		return err
	}
	return fmt.Errorf("key file %s: %s", path, shortErr(err))
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

// KeyPlace says where the key of a cache that records keyHome (Inspect)
// lives: in the OS keyring, or in a key file; neither for "".
func KeyPlace(keyHome string) (inKeyring bool, file string) {
	if keyHome == homeKeyring {
		return true, ""
	}
	return false, strings.TrimPrefix(keyHome, homeFile)
}

// RuntimeKeyFile is the key file LoadKey keeps in runtimeDir when no
// keyring answers.
func RuntimeKeyFile(runtimeDir string) string { return filepath.Join(runtimeDir, "cache.key") }

// DeleteKeyringKey removes the cache key from the OS keyring; a keyring
// that holds none is not an error.
func DeleteKeyringKey() error {
	if err := keyring.Delete(keyringService, keyringUser); err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return errors.New(shortErr(err))
	}
	return nil
}

// keyringSource is Key.Source for the key in the keyring.
const keyringSource = "OS keyring (service " + keyringService + ")"
