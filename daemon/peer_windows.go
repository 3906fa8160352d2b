package daemon

import (
	"fmt"
	"net"
	"unsafe"

	"golang.org/x/sys/windows"
)

// sioAFUnixGetPeerPID is SIO_AF_UNIX_GETPEERPID (_WSAIOR(IOC_VENDOR, 256)):
// Windows' AF_UNIX sockets give the peer's process id, not its user.
const sioAFUnixGetPeerPID = 0x58000100

// peerOf asks Windows for the peer's process id, then for the user SID of
// that process's token, and compares it with ours.
func peerOf(c *net.UnixConn) Peer {
	raw, err := c.SyscallConn()
	if err != nil {
		return Peer{UID: -1, Err: err}
	}
	var pid uint32
	var ioErr error
	if err := raw.Control(func(fd uintptr) {
		var n uint32
		ioErr = windows.WSAIoctl(windows.Handle(fd), sioAFUnixGetPeerPID, nil, 0,
			(*byte)(unsafe.Pointer(&pid)), uint32(unsafe.Sizeof(pid)), &n, nil, 0)
	}); err != nil {
		return Peer{UID: -1, Err: err}
	}
	if ioErr != nil {
		return Peer{UID: -1, Err: fmt.Errorf("SIO_AF_UNIX_GETPEERPID: %w", ioErr)}
	}
	p := Peer{UID: -1, PID: int(pid)}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		p.Err = fmt.Errorf("opening peer process %d: %w", pid, err)
		return p
	}
	defer windows.CloseHandle(h)
	var tok windows.Token
	if err := windows.OpenProcessToken(h, windows.TOKEN_QUERY, &tok); err != nil {
		p.Err = fmt.Errorf("reading peer process %d's token: %w", pid, err)
		return p
	}
	defer tok.Close()
	peerUser, err := tok.GetTokenUser()
	if err != nil {
		p.Err = err
		return p
	}
	me, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		p.Err = err
		return p
	}
	p.SID = peerUser.User.Sid.String()
	p.SameUser = peerUser.User.Sid.Equals(me.User.Sid)
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n := uint32(len(buf))
	if windows.QueryFullProcessImageName(h, 0, &buf[0], &n) == nil {
		p.Exe = windows.UTF16ToString(buf[:n])
	}
	return p
}

func ownUser() string {
	if u, err := windows.GetCurrentProcessToken().GetTokenUser(); err == nil {
		return "user " + u.User.Sid.String()
	}
	return "this user"
}
