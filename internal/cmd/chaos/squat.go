//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/testenv"
)

// squattedKey is scenario (6), row 2 of issue #17: the cache recorded its
// key in the runtime folder of an environment without XDG_RUNTIME_DIR (as
// /tmp/codecommitd-<uid> would be); then that folder is another user's
// (uid 65534, 0755) holding a FIFO open to all as cache.key, or the key is
// a dangling link. Git operations run with no daemon, started on demand and
// through the one-shot fallback: none may fail, and none may wait more
// than 5 s longer than with the key in place. The FIFO needs root.
func squattedKey(ctx context.Context, bin string) (bool, error) {
	pass := true
	for _, spoil := range []struct {
		name     string
		needRoot bool
		do       func(dir string) error
	}{
		{"FIFO in another user's folder", true, squatFolder},
		{"dangling link", false, func(dir string) error {
			key := filepath.Join(dir, "cache.key")
			if err := os.Remove(key); err != nil {
				return err
			}
			return os.Symlink(key+".gone", key)
		}},
	} {
		if spoil.needRoot && os.Getuid() != 0 {
			fmt.Printf("    %-30s skipped: making another user's folder needs root\n", spoil.name)
			continue
		}
		for _, mode := range []struct {
			name string
			env  []string
		}{{"daemon on demand", nil}, {"one-shot", []string{envvar.Autostart + "=0"}}} {
			ok, err := squattedKeyCase(ctx, bin, spoil.name, spoil.do, mode.name, mode.env)
			if err != nil {
				return false, err
			}
			pass = pass && ok
		}
	}
	return pass, nil
}

// squatFolder makes dir what another user would: theirs, 0755, with a
// FIFO open to all as cache.key.
func squatFolder(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	fifo := filepath.Join(dir, "cache.key")
	for _, step := range []func() error{
		func() error { return os.Mkdir(dir, 0o755) },
		func() error { return syscall.Mkfifo(fifo, 0o666) },
		func() error { return os.Chmod(fifo, 0o666) },
		func() error { return os.Chown(fifo, 65534, 65534) },
		func() error { return os.Chown(dir, 65534, 65534) },
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// squattedKeyCase runs one spoiling in one mode in a world of its own.
func squattedKeyCase(ctx context.Context, bin, spoilName string, spoil func(string) error, modeName string, env []string) (bool, error) {
	e, err := testenv.Temp(bin, "dev")
	if err != nil {
		return false, err
	}
	defer e.Close()
	tmpRun := filepath.Join(e.Dir, "tmprun")
	e.Extra = []string{"XDG_RUNTIME_DIR=" + tmpRun}
	if err := e.StartDaemon(ctx); err != nil {
		return false, err
	}
	if ok, _, stderr := lsRemote(ctx, e); !ok {
		return false, fmt.Errorf("warming up: %s", stderr)
	}
	e.StopDaemon()

	const ops = 3
	e.Extra = env
	healthy, _ := timedOps(ctx, e, ops)
	e.StopDaemon()
	if err := spoil(filepath.Join(tmpRun, "codecommitd")); err != nil {
		return false, err
	}
	spoiled, failed := timedOps(ctx, e, ops)
	stopped := stopsOnSIGTERM(e)

	base, worst := median(healthy), slices.Max(spoiled)
	added := worst - base
	pass := failed == 0 && added <= 5*time.Second && stopped
	fmt.Printf("    %-30s %-17s failed %d of %d (want 0); slowest %5.2fs vs %5.2fs with the key in place: %+.2fs (want ≤ +5s)%s\n",
		spoilName, modeName, failed, ops, worst.Seconds(), base.Seconds(), added.Seconds(), mark(pass))
	if !stopped {
		fmt.Println("        the daemon started on demand did not stop on SIGTERM within 10s")
	}
	return pass, nil
}

// timedOps runs n git operations one after another, each bounded far
// beyond a healthy one, and returns how long each took and how many failed.
func timedOps(ctx context.Context, e *testenv.Env, n int) (took []time.Duration, failed int) {
	for range n {
		opCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
		start := time.Now()
		ok, _, _ := lsRemote(opCtx, e)
		took = append(took, time.Since(start))
		cancel()
		if !ok {
			failed++
		}
	}
	return took, failed
}

// stopsOnSIGTERM reports whether the daemon on the world's socket, if one
// runs, is gone within 10 s of SIGTERM.
func stopsOnSIGTERM(e *testenv.Env) bool {
	pid := e.DaemonPID()
	if pid == 0 {
		return true
	}
	syscall.Kill(pid, syscall.SIGTERM)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return true
		}
	}
	return false
}
