//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/codecommitd/codecommitd/internal/testenv"
)

// cacheFolder is scenario (5): the cache folder on a read-only file system,
// then on a full one. Mounting needs root; elsewhere it is skipped.
func cacheFolder(ctx context.Context, bin string) (bool, error) {
	if os.Getuid() != 0 {
		fmt.Println("    skipped: mounting a read-only or full file system needs root")
		return true, nil
	}
	pass := true
	for _, tc := range []struct{ name, want string }{{"read-only", "read-only"}, {"full", "no space left"}} {
		ok, err := cacheFolderCase(ctx, bin, tc.name, tc.want)
		if err != nil {
			return false, err
		}
		pass = pass && ok
	}
	return pass, nil
}

func cacheFolderCase(ctx context.Context, bin, name, want string) (bool, error) {
	e, err := testenv.Temp(bin, "dev")
	if err != nil {
		return false, err
	}
	defer e.Close()
	dir := filepath.Join(e.Dir, "state", "codecommitd")
	cacheFile := filepath.Join(dir, "cache.db")
	if err := e.StartDaemon(ctx); err != nil {
		return false, err
	}
	if ok, _, stderr := lsRemote(ctx, e); !ok {
		return false, fmt.Errorf("warming up: %s", stderr)
	}
	e.StopDaemon()
	saved, err := os.ReadFile(cacheFile)
	if err != nil {
		return false, err
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		fmt.Printf("    skipped: cannot mount a tmpfs here (%v: %s)\n", err, strings.TrimSpace(string(out)))
		return true, nil
	}
	defer exec.Command("umount", "-l", dir).Run()
	switch name {
	case "read-only":
		os.WriteFile(cacheFile, saved, 0o600)
		if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
			return false, fmt.Errorf("remounting read-only: %v %s", err, out)
		}
	case "full":
		f, _ := os.Create(filepath.Join(dir, "filler"))
		f.Write(make([]byte, 1<<20)) // stops when the file system is full
		f.Close()
	}
	calls := e.STS.Calls("AssumeRole")
	if err := e.StartDaemon(ctx); err != nil {
		fmt.Printf("    %-10s the daemon did not start: %v  ✗\n", name, err)
		return false, nil
	}
	defer e.StopDaemon()
	ok1, _, _ := lsRemote(ctx, e)
	ok2, _, _ := lsRemote(ctx, e)
	out, _, _ := e.Run(ctx, "", "codecommitd", "status", "--json")
	var st struct {
		CacheProblem string `json:"cache_problem"`
	}
	json.Unmarshal([]byte(out), &st)
	warnings := strings.Count(e.DaemonLog(), "level=WARN")
	said := strings.Contains(st.CacheProblem, want) && warnings == 1
	used := name != "read-only" || e.STS.Calls("AssumeRole") == calls
	pass := ok1 && ok2 && said && used
	fmt.Printf("    %-10s git operations served: %v; status says %q; warnings logged: %d; cached credentials used: %v%s\n",
		name, ok1 && ok2, st.CacheProblem, warnings, used, mark(pass))
	return pass, nil
}
