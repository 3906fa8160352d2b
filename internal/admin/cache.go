package admin

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/codecommitd/codecommitd/cache"
	"github.com/codecommitd/codecommitd/internal/paths"
	"github.com/codecommitd/codecommitd/internal/privdir"
)

// EnvKeyring set to "0" keeps the daemon away from the OS keyring.
const EnvKeyring = "CODECOMMITD_KEYRING"

type cacheFlags struct {
	cachePath string
	noCache   bool
	keyFile   string
	noKeyring bool
}

func (f *cacheFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.cachePath, "cache", "", "encrypted credential cache file (default "+paths.CacheFile()+")")
	cmd.Flags().BoolVar(&f.noCache, "no-cache", false, "keep credentials in memory only")
	cmd.Flags().StringVar(&f.keyFile, "key-file", "", "file holding the cache's encryption key (created if missing); default: the OS keyring, else $XDG_RUNTIME_DIR/codecommitd/cache.key")
	cmd.Flags().BoolVar(&f.noKeyring, "no-keyring", false, "do not use the OS keyring for the cache key (also "+EnvKeyring+"=0)")
}

// runtimeDir is where the fallback key file lives: a tmpfs on Linux
// ($XDG_RUNTIME_DIR), else the socket's folder if it is this user's own
// and private, else nowhere.
func runtimeDir(socket string) string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "codecommitd")
	}
	if dir := filepath.Dir(socket); privdir.Check(dir) == nil {
		return dir
	}
	return ""
}

// openCache opens the persistent cache the flags ask for. No cache (and no
// error) when it is turned off or no key can be kept; an error when another
// process holds the file.
func (f *cacheFlags) openCache(socket string, log *slog.Logger, timeout time.Duration) (*cache.Store, string, error) {
	if f.noCache {
		return nil, "", nil
	}
	key, err := cache.LoadKey(cache.KeyOptions{
		File:       f.keyFile,
		Keyring:    !f.noKeyring && os.Getenv(EnvKeyring) != "0",
		RuntimeDir: runtimeDir(socket),
	})
	if err != nil {
		if f.keyFile != "" {
			return nil, "", fmt.Errorf("cache key: %w", err)
		}
		log.Warn("no credential cache: credentials are kept in memory only", "reason", err.Error())
		return nil, "", nil
	}
	path := f.cachePath
	if path == "" {
		path = paths.CacheFile()
	}
	store, err := cache.Open(path, key.Bytes, cache.Options{Log: log, Timeout: timeout})
	if errors.Is(err, cache.ErrLocked) {
		return nil, "", err
	}
	if err != nil {
		log.Warn("no credential cache: credentials are kept in memory only", "path", path, "reason", err.Error())
		return nil, "", nil
	}
	n, _ := store.Len()
	log.Info("credential cache open", "path", path, "key", key.Source, "entries", n)
	return store, key.Source, nil
}
