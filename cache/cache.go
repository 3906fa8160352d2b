package cache

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.etcd.io/bbolt"

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
	keyKeyHome        = []byte("key_home")
	keyCheckPlaintext = []byte("codecommitd cache key check")
)

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
// miss (ok false, no error); an error means the file could not be read.
func (s *Store) Load(key string) (sigv4.Credentials, string, bool, error) {
	var r record
	var ok bool
	err := s.use(false, func(db *bbolt.DB) error {
		return db.View(func(tx *bbolt.Tx) error {
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
	})
	if err != nil || !ok {
		return sigv4.Credentials{}, "", false, err
	}
	return sigv4.Credentials{AccessKeyID: r.AccessKeyID, SecretAccessKey: r.SecretAccessKey,
		SessionToken: r.SessionToken, Expires: r.Expires, Source: r.Source}, r.Profile, true, nil
}

// DeleteProfile removes the records of profile, or all records when all is
// set, and returns their keys. Records that do not open go too: they serve
// no one.
func (s *Store) DeleteProfile(profile string, all bool) ([]string, error) {
	var gone []string
	err := s.use(true, func(db *bbolt.DB) error {
		gone = nil
		return db.Update(func(tx *bbolt.Tx) error {
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
	})
	return gone, err
}

// Save stores temporary credentials under key. It refuses long-term keys
// (no session token or no expiry): those stay where the user keeps them.
func (s *Store) Save(key, profile string, c sigv4.Credentials) error {
	if c.SessionToken == "" || c.Expires.IsZero() {
		return fmt.Errorf("%w: refusing to persist long-term credentials", errRecord)
	}
	return s.put(bucketCredentials, key, record{Profile: profile, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
		SessionToken: c.SessionToken, Expires: c.Expires, Source: c.Source, SavedAt: s.now()})
}

// put seals v, as JSON, under key in bucket, creating the bucket if need
// be.
func (s *Store) put(bucket []byte, key string, v any) error {
	plain, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.use(true, func(db *bbolt.DB) error {
		return db.Update(func(tx *bbolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(bucket)
			if err != nil {
				return err
			}
			return b.Put([]byte(key), s.seal(SchemaVersion, bucket, []byte(key), plain))
		})
	})
}

// Delete removes key; a missing key is not an error.
func (s *Store) Delete(key string) error {
	return s.use(true, func(db *bbolt.DB) error {
		return db.Update(func(tx *bbolt.Tx) error {
			b := tx.Bucket(bucketCredentials)
			if b == nil {
				return nil
			}
			return b.Delete([]byte(key))
		})
	})
}

// Len returns the number of stored records.
func (s *Store) Len() (int, error) {
	n := 0
	err := s.use(false, func(db *bbolt.DB) error {
		return db.View(func(tx *bbolt.Tx) error {
			if b := tx.Bucket(bucketCredentials); b != nil {
				n = b.Stats().KeyN
			}
			return nil
		})
	})
	return n, err
}

// Prune deletes records that are expired or do not open, and returns how
// many it deleted. The daemon calls it at open and then hourly.
func (s *Store) Prune() (int, error) {
	now := s.now()
	var n int
	err := s.use(true, func(db *bbolt.DB) error {
		return db.Update(func(tx *bbolt.Tx) error {
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
	})
	if errors.Is(err, errReadOnly) {
		return 0, nil
	}
	return n, err
}

func putUint64(b *bbolt.Bucket, key []byte, v uint64) error {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], v)
	return b.Put(key, buf[:])
}

// Touch records that profile was used at when.
func (s *Store) Touch(profile string, when time.Time) error {
	return s.put(bucketUsage, profile, usageRecord{LastUsed: when})
}

// usageRecord is what the usage bucket holds per profile.
type usageRecord struct {
	LastUsed time.Time `json:"last_used"`
}

// Recent returns the profiles used since since, with when they were last
// used. Records that do not open are skipped.
func (s *Store) Recent(since time.Time) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	err := s.use(false, func(db *bbolt.DB) error {
		return db.View(func(tx *bbolt.Tx) error {
			b := tx.Bucket(bucketUsage)
			if b == nil {
				return nil
			}
			return b.ForEach(func(k, v []byte) error {
				plain, err := s.unseal(SchemaVersion, bucketUsage, k, v)
				if err != nil {
					return nil
				}
				var u usageRecord
				if json.Unmarshal(plain, &u) == nil && !u.LastUsed.Before(since) {
					out[string(k)] = u.LastUsed
				}
				return nil
			})
		})
	})
	return out, err
}
