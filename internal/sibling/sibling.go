// Package sibling finds codecommitd's other programs: the one installed
// next to the running executable first (so a build directory or a package
// stays consistent), else the one on PATH. It uses only the standard
// library: the helpers call it on every git operation.
package sibling

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Find returns the path of the program name (without ".exe"): next to this
// executable, else on PATH. The error says how to fix it.
func Find(name string) (string, error) {
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s is neither next to %s nor on PATH; install it (make install)", name, filepath.Base(os.Args[0]))
	}
	return p, nil
}
