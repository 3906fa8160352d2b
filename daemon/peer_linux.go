package daemon

import (
	"net"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

func peerOf(c *net.UnixConn) Peer {
	raw, err := c.SyscallConn()
	if err != nil {
		return Peer{UID: -1, Err: err}
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Peer{UID: -1, Err: err}
	}
	if credErr != nil {
		return Peer{UID: -1, Err: credErr}
	}
	exe, _ := os.Readlink("/proc/" + strconv.Itoa(int(cred.Pid)) + "/exe")
	return Peer{UID: int(cred.Uid), PID: int(cred.Pid), Exe: exe, SameUser: int(cred.Uid) == os.Getuid()}
}
