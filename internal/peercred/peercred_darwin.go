package peercred

import (
	"bytes"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Of asks the kernel who is at the other end of c (LOCAL_PEERCRED and
// LOCAL_PEERPID).
func Of(c syscall.Conn) (Peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return Peer{UID: -1}, err
	}
	p := Peer{UID: -1}
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		var cred *unix.Xucred
		cred, credErr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		if credErr == nil {
			p.UID = int(cred.Uid)
		}
		p.PID, _ = unix.GetsockoptInt(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERPID)
	}); err != nil {
		return Peer{UID: -1}, err
	}
	if credErr != nil {
		return Peer{UID: -1}, credErr
	}
	return p, nil
}

// Current returns the user this process runs as.
func Current() Self { return Self{UID: os.Getuid()} }

// Exe returns the executable of process pid from kern.procargs2 (an int32
// argc, then the path, NUL-terminated), or "".
func Exe(pid int) string {
	if pid <= 0 {
		return ""
	}
	b, err := unix.SysctlRaw("kern.procargs2", pid)
	if err != nil || len(b) < 5 {
		return ""
	}
	path, _, _ := bytes.Cut(b[4:], []byte{0})
	return string(path)
}
