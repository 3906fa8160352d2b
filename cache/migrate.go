package cache

import (
	"encoding/binary"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"
)

// A migration brings a file from version-1 to version, inside one
// transaction, so a crash leaves either the old file or the new one.
type migration struct {
	version uint64
	name    string
	apply   func(s *Store, tx *bbolt.Tx) error
}

// migrations are applied in order to files older than SchemaVersion.
//
// Version 0 (the first development releases) had no meta bucket and sealed
// records with additional data "codecommitd/<bucket>/<key>", which did not
// bind the schema version.
var migrations = []migration{
	{1, "bind records to the schema version; add meta", func(s *Store, tx *bbolt.Tx) error {
		b := tx.Bucket(bucketCredentials)
		if b == nil {
			return nil
		}
		type kv struct{ k, v []byte }
		var resealed []kv
		if err := b.ForEach(func(k, v []byte) error {
			plain, err := s.aead.Open(nil, nil, v, []byte("codecommitd/"+string(bucketCredentials)+"/"+string(k)))
			if err != nil {
				return nil // unreadable v0 record: dropped below
			}
			resealed = append(resealed, kv{append([]byte(nil), k...), s.seal(1, bucketCredentials, k, plain)})
			return nil
		}); err != nil {
			return err
		}
		if err := tx.DeleteBucket(bucketCredentials); err != nil {
			return err
		}
		nb, err := tx.CreateBucket(bucketCredentials)
		if err != nil {
			return err
		}
		for _, r := range resealed {
			if err := nb.Put(r.k, r.v); err != nil {
				return err
			}
		}
		return nil
	}},
}

// errWrongKey reports a file sealed with another key.
var errWrongKey = errors.New("the cache was sealed with another key")

// migrate reads the file's version and key check, applies the migrations
// it lacks, and writes the current version. A new file is initialised.
func (s *Store) migrate(tx *bbolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	var version uint64
	switch {
	case meta != nil:
		v := meta.Get(keySchemaVersion)
		if len(v) != 8 {
			return errors.New("schema version is missing or malformed")
		}
		version = binary.BigEndian.Uint64(v)
		if version > SchemaVersion {
			return fmt.Errorf("schema version %d is newer than this codecommitd understands (%d)", version, SchemaVersion)
		}
		check := meta.Get(keyKeyCheck)
		if check == nil {
			return errors.New("key check is missing")
		}
		if plain, err := s.unseal(version, bucketMeta, keyKeyCheck, check); err != nil || string(plain) != string(keyCheckPlaintext) {
			return errWrongKey
		}
	case tx.Bucket(bucketCredentials) != nil:
		version = 0 // a version-0 file: records but no meta
	default:
		version = SchemaVersion // a new file: nothing to migrate
	}
	for _, m := range migrations {
		if m.version <= version {
			continue
		}
		if err := m.apply(s, tx); err != nil {
			return fmt.Errorf("migrating the cache to version %d (%s): %w", m.version, m.name, err)
		}
		s.log.Info("migrated the credential cache", "to_version", m.version, "change", m.name)
	}
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	if err := putUint64(meta, keySchemaVersion, SchemaVersion); err != nil {
		return err
	}
	return meta.Put(keyKeyCheck, s.seal(SchemaVersion, bucketMeta, keyKeyCheck, keyCheckPlaintext))
}
