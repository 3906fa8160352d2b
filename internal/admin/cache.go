package admin

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/codecommitd/codecommitd/cache"
	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/paths"
	"github.com/codecommitd/codecommitd/internal/privdir"
	"github.com/codecommitd/codecommitd/internal/sockpath"
)

type cacheFlags struct {
	cachePath string
	noCache   bool
	keyFile   string
	noKeyring bool
}

func (f *cacheFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.cachePath, "cache", "", "encrypted credential cache file (default "+paths.CacheFile()+")")
	cmd.Flags().BoolVar(&f.noCache, "no-cache", false, "keep credentials in memory only")
	cmd.Flags().StringVar(&f.keyFile, "key-file", "", "file holding the cache's encryption key (created if missing); default: the OS keyring, else cache.key in the runtime folder")
	cmd.Flags().BoolVar(&f.noKeyring, "no-keyring", false, "do not use the OS keyring for the cache key (also "+envvar.Keyring+"=0)")
}

// openedCache is the persistent cache a command got, or why it has none.
type openedCache struct {
	store     *cache.Store // nil: memory only
	path      string
	keySource string
	// problem says why there is no store, or what is wrong with it; ""
	// when all is well.
	problem string
	// folderRefused reports that the cache's folder is not private: the
	// cache is not used, whatever the folder holds.
	folderRefused bool
}

func (c openedCache) Problem() string {
	if c.store != nil {
		if p := c.store.Problem(); p != "" {
			return p
		}
	}
	return c.problem
}

// openCache opens the persistent cache the flags ask for. It never fails
// a daemon or a one-shot request: when the cache cannot be used (turned
// off, no key, a key out of reach, a file another daemon holds, one that
// cannot be read), credentials are kept in memory, the log says why once,
// and the file is left as it is. Only a --key-file that cannot be used is an
// error: the user asked for it.
func (f *cacheFlags) openCache(log *slog.Logger, owner string, timeout time.Duration) (openedCache, error) {
	path := f.cachePath
	if path == "" {
		path = paths.CacheFile()
	}
	out := openedCache{path: path}
	clog := log.With(slog.String("component", "cache"), slog.String("path", path))
	if f.noCache {
		out.problem = "turned off (--no-cache)"
		return out, nil
	}
	memoryOnly := func(problem string) (openedCache, error) {
		out.problem = problem
		clog.Warn("no credential cache: credentials are kept in memory only", "reason", problem)
		return out, nil
	}
	recorded, err := cache.Inspect(path)
	if err != nil && !errors.Is(err, cache.ErrCorrupt) {
		var np *privdir.NotPrivateError
		out.folderRefused = errors.As(err, &np)
		return memoryOnly(err.Error())
	}
	key, err := cache.LoadKey(cache.KeyOptions{
		File:       f.keyFile,
		Keyring:    !f.noKeyring && os.Getenv(envvar.Keyring) != "0",
		RuntimeDir: sockpath.RuntimeDir(os.Getenv),
		Recorded:   recorded,
	})
	switch {
	case err != nil && f.keyFile != "":
		return out, fmt.Errorf("cache key: %w", err)
	case errors.Is(err, cache.ErrKeyUnreachable):
		return memoryOnly(fmt.Sprintf("the cache was sealed with a key this process cannot reach (%v); it is left as it is, for the daemon that can", err))
	case err != nil:
		return memoryOnly(err.Error())
	}
	out.keySource = key.Source
	store, err := cache.Open(path, key.Bytes, cache.Options{Log: log, Timeout: timeout, KeyHome: key.Home, Owner: owner})
	var locked *cache.LockedError
	var np *privdir.NotPrivateError
	switch {
	case errors.As(err, &locked):
		return memoryOnly("held by another daemon: " + locked.Error())
	case errors.As(err, &np):
		out.folderRefused = true
		return memoryOnly(err.Error())
	case err != nil:
		return memoryOnly(err.Error())
	}
	out.store = store
	n, _ := store.Len()
	clog.Info("credential cache open", "key", key.Source, "entries", n, "problem", store.Problem())
	return out, nil
}
