package daemon

import (
	"bytes"
	"encoding/binary"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

func peerOf(c *net.UnixConn) Peer {
	raw, err := c.SyscallConn()
	if err != nil {
		return Peer{UID: -1, Err: err}
	}
	var p Peer
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		var cred *unix.Xucred
		cred, credErr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		if credErr == nil {
			p.UID = int(cred.Uid)
		}
		p.PID, _ = unix.GetsockoptInt(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERPID)
	}); err != nil {
		return Peer{UID: -1, Err: err}
	}
	if credErr != nil {
		return Peer{UID: -1, Err: credErr}
	}
	p.Exe = exeOf(p.PID)
	p.SameUser = p.UID == os.Getuid()
	return p
}

// exeOf reads a process's executable path from kern.procargs2: an int32
// argc, then the path, NUL-terminated.
func exeOf(pid int) string {
	if pid <= 0 {
		return ""
	}
	b, err := unix.SysctlRaw("kern.procargs2", pid)
	if err != nil || len(b) < 5 {
		return ""
	}
	_ = binary.LittleEndian.Uint32(b[:4])
	path, _, _ := bytes.Cut(b[4:], []byte{0})
	return string(path)
}
