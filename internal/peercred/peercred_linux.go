package peercred

import (
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Of asks the kernel who is at the other end of c (SO_PEERCRED: the user
// and process that connected, or that listened, as the case may be).
func Of(c syscall.Conn) (Peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return Peer{UID: -1}, err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Peer{UID: -1}, err
	}
	if credErr != nil {
		return Peer{UID: -1}, credErr
	}
	return Peer{UID: int(cred.Uid), PID: int(cred.Pid)}, nil
}

// Current returns the user this process runs as.
func Current() Self { return Self{UID: os.Getuid()} }

// Exe returns the executable of process pid, or "" when it cannot be read.
func Exe(pid int) string {
	if pid <= 0 {
		return ""
	}
	exe, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	return exe
}
