package cache

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/sigv4"
)

// SchemaVersion is the version this code writes.
const SchemaVersion = 1

// KeySize is the size of the encryption key: AES-256.
const KeySize = 32

var (
	bucketMeta        = []byte("meta")
	bucketCredentials = []byte("credentials")
	bucketUsage       = []byte("usage")
	keySchemaVersion  = []byte("schema_version")
	keyKeyCheck       = []byte("key_check")
	keyCheckPlaintext = []byte("codecommitd cache key check")
)

// ErrLocked reports that another process holds the cache file.
var ErrLocked = errors.New("cache file is in use by another process")

// Store is an open cache. It is safe for concurrent use.
type Store struct {
	db   *bbolt.DB
	aead cipher.AEAD
	path string
	log  *slog.Logger
	now  func() time.Time
}

// Options configures Open.
type Options struct {
	// Log receives the one message about a file renamed aside.
	Log *slog.Logger
	// Timeout bounds the wait for the file lock; zero means one second.
	Timeout time.Duration
	// Now is the clock for expiry; nil means time.Now.
	Now func() time.Time
}

// Open opens (or creates) the cache at path with key. A file it cannot
// read is renamed aside and replaced; a file another process holds gives
// ErrLocked after Timeout. Expired records are pruned.
func Open(path string, key []byte, opts Options) (*Store, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("cache key is %d bytes, want %d", len(key), KeySize)
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Timeout == 0 {
		opts.Timeout = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating cache directory: %w", err)
	}
	s := &Store{aead: aead, path: path, log: opts.Log, now: opts.Now}
	db, err := s.open(opts.Timeout)
	if errors.Is(err, ErrLocked) {
		return nil, err
	}
	if err != nil {
		aside, rerr := moveAside(path, opts.Now())
		if rerr != nil {
			return nil, fmt.Errorf("cache %s is unreadable (%w) and cannot be moved aside: %w", path, err, rerr)
		}
		opts.Log.Warn("credential cache was unreadable; moved it aside and started an empty one",
			"path", path, "moved_to", aside, "reason", err.Error())
		if db, err = s.open(opts.Timeout); err != nil {
			return nil, err
		}
	}
	s.db = db
	if _, err := s.Prune(); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return s, nil
}

// newAEAD returns AES-256-GCM with a random 96-bit nonce prepended to each
// sealed value.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// open opens the file and brings it to SchemaVersion, or says why it
// cannot. bbolt panics on some corrupt pages; that is an unreadable file
// too.
func (s *Store) open(timeout time.Duration) (_ *bbolt.DB, err error) {
	var db *bbolt.DB
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("corrupt database: %v", r)
		}
		if err != nil && db != nil {
			err = errors.Join(err, db.Close())
		}
	}()
	db, err = bbolt.Open(s.path, 0o600, &bbolt.Options{Timeout: timeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s (is another codecommitd running with the same --cache?)", ErrLocked, s.path)
	}
	if err != nil {
		return nil, err
	}
	err = db.View(func(tx *bbolt.Tx) error {
		// Drain every error: the checker goroutine blocks until read.
		var errs []error
		for cerr := range tx.Check() {
			errs = append(errs, cerr)
		}
		if len(errs) > 0 {
			return fmt.Errorf("corrupt database: %w", errors.Join(errs...))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err = db.Update(func(tx *bbolt.Tx) error { return s.migrate(tx) }); err != nil {
		return nil, err
	}
	return db, nil
}

// keepAside is how many unreadable files are kept for inspection.
const keepAside = 3

// moveAside renames path to path.unreadable-<time> and deletes all but the
// newest keepAside such files.
func moveAside(path string, now time.Time) (string, error) {
	aside := path + ".unreadable-" + now.UTC().Format("20060102T150405.000000000Z")
	if err := os.Rename(path, aside); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		return "", err
	}
	old, _ := filepath.Glob(path + ".unreadable-*")
	slices.Sort(old) // the timestamp sorts by time
	for len(old) > keepAside {
		os.Remove(old[0])
		old = old[1:]
	}
	return aside, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Path is the file's path.
func (s *Store) Path() string { return s.path }

// record is what a credentials entry holds, sealed.
type record struct {
	Profile         string    `json:"profile"`
	AccessKeyID     string    `json:"access_key_id"`
	SecretAccessKey string    `json:"secret_access_key"`
	SessionToken    string    `json:"session_token"`
	Expires         time.Time `json:"expires"`
	Source          string    `json:"source"`
	SavedAt         time.Time `json:"saved_at"`
}

func additionalData(version uint64, bucket, key []byte) []byte {
	return []byte("codecommitd/v" + strconv.FormatUint(version, 10) + "/" + string(bucket) + "/" + string(key))
}

func (s *Store) seal(version uint64, bucket, key, plaintext []byte) []byte {
	return s.aead.Seal(nil, nil, plaintext, additionalData(version, bucket, key))
}

func (s *Store) unseal(version uint64, bucket, key, sealed []byte) ([]byte, error) {
	return s.aead.Open(nil, nil, sealed, additionalData(version, bucket, key))
}

// decodeRecord opens a sealed record; anything that does not open and
// decode into a complete record is an error.
func (s *Store) decodeRecord(key, sealed []byte) (record, error) {
	plain, err := s.unseal(SchemaVersion, bucketCredentials, key, sealed)
	if err != nil {
		return record{}, errors.New("record does not open")
	}
	var r record
	if err := json.Unmarshal(plain, &r); err != nil {
		return record{}, fmt.Errorf("record does not decode: %w", err)
	}
	if r.AccessKeyID == "" || r.SecretAccessKey == "" || r.SessionToken == "" || r.Expires.IsZero() {
		return record{}, errors.New("record is incomplete")
	}
	return r, nil
}

// Load returns the unexpired credentials stored under key and the profile
// they belong to. A record that is missing, expired or does not open is a
// miss.
func (s *Store) Load(key string) (sigv4.Credentials, string, bool) {
	var r record
	var ok bool
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketCredentials)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(key))
		if v == nil {
			return nil
		}
		var err error
		if r, err = s.decodeRecord([]byte(key), v); err != nil {
			s.log.Warn("ignoring a cached record that does not open", "key", clean.Short(key), "reason", err.Error())
			return nil
		}
		ok = s.now().Before(r.Expires)
		return nil
	})
	if err != nil || !ok {
		return sigv4.Credentials{}, "", false
	}
	return sigv4.Credentials{AccessKeyID: r.AccessKeyID, SecretAccessKey: r.SecretAccessKey,
		SessionToken: r.SessionToken, Expires: r.Expires, Source: r.Source}, r.Profile, true
}

// DeleteProfile removes the records of profile, or all records when all is
// set, and returns their keys. Records that do not open go too: they serve
// no one.
func (s *Store) DeleteProfile(profile string, all bool) ([]string, error) {
	var gone []string
	err := s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketCredentials)
		if b == nil {
			return nil
		}
		var keys [][]byte
		if err := b.ForEach(func(k, v []byte) error {
			r, err := s.decodeRecord(k, v)
			if all || err != nil || r.Profile == profile {
				keys = append(keys, append([]byte(nil), k...))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
			gone = append(gone, string(k))
		}
		return nil
	})
	return gone, err
}

// Save stores temporary credentials under key. It refuses long-term keys
// (no session token or no expiry): those stay where the user keeps them.
func (s *Store) Save(key, profile string, c sigv4.Credentials) error {
	if c.SessionToken == "" || c.Expires.IsZero() {
		return errors.New("refusing to persist long-term credentials")
	}
	plain, err := json.Marshal(record{Profile: profile, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
		SessionToken: c.SessionToken, Expires: c.Expires, Source: c.Source, SavedAt: s.now()})
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketCredentials)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), s.seal(SchemaVersion, bucketCredentials, []byte(key), plain))
	})
}

// Delete removes key; a missing key is not an error.
func (s *Store) Delete(key string) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketCredentials)
		if b == nil {
			return nil
		}
		return b.Delete([]byte(key))
	})
}

// Len returns the number of stored records.
func (s *Store) Len() (int, error) {
	n := 0
	err := s.db.View(func(tx *bbolt.Tx) error {
		if b := tx.Bucket(bucketCredentials); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}

// Prune deletes records that are expired or do not open, and returns how
// many it deleted.
func (s *Store) Prune() (int, error) {
	now := s.now()
	var n int
	err := s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketCredentials)
		if b == nil {
			return nil
		}
		var dead [][]byte
		if err := b.ForEach(func(k, v []byte) error {
			r, err := s.decodeRecord(k, v)
			if err != nil || !now.Before(r.Expires) {
				dead = append(dead, append([]byte(nil), k...))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range dead {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(dead)
		return nil
	})
	return n, err
}

func putUint64(b *bbolt.Bucket, key []byte, v uint64) error {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], v)
	return b.Put(key, buf[:])
}

// Touch records that profile was used at when.
func (s *Store) Touch(profile string, when time.Time) error {
	plain, err := json.Marshal(struct {
		LastUsed time.Time `json:"last_used"`
	}{when})
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketUsage)
		if err != nil {
			return err
		}
		return b.Put([]byte(profile), s.seal(SchemaVersion, bucketUsage, []byte(profile), plain))
	})
}

// Recent returns the profiles used since since, with when they were last
// used. Records that do not open are skipped.
func (s *Store) Recent(since time.Time) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketUsage)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			plain, err := s.unseal(SchemaVersion, bucketUsage, k, v)
			if err != nil {
				return nil
			}
			var u struct {
				LastUsed time.Time `json:"last_used"`
			}
			if json.Unmarshal(plain, &u) == nil && !u.LastUsed.Before(since) {
				out[string(k)] = u.LastUsed
			}
			return nil
		})
	})
	return out, err
}
