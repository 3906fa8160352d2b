package peercred

import (
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// sioAFUnixGetPeerPID is SIO_AF_UNIX_GETPEERPID (_WSAIOR(IOC_VENDOR, 256)):
// Windows' AF_UNIX sockets give the peer's process id, not its user.
const sioAFUnixGetPeerPID = 0x58000100

// Of asks Windows for the peer's process id, then for the user SID of that
// process's token.
func Of(c syscall.Conn) (Peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return Peer{UID: -1}, err
	}
	var pid uint32
	var ioErr error
	if err := raw.Control(func(fd uintptr) {
		var n uint32
		ioErr = windows.WSAIoctl(windows.Handle(fd), sioAFUnixGetPeerPID, nil, 0,
			(*byte)(unsafe.Pointer(&pid)), uint32(unsafe.Sizeof(pid)), &n, nil, 0)
	}); err != nil {
		return Peer{UID: -1}, err
	}
	if ioErr != nil {
		return Peer{UID: -1}, fmt.Errorf("SIO_AF_UNIX_GETPEERPID: %w", ioErr)
	}
	p := Peer{UID: -1, PID: int(pid)}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return p, fmt.Errorf("opening peer process %d: %w", pid, err)
	}
	defer windows.CloseHandle(h)
	var tok windows.Token
	if err := windows.OpenProcessToken(h, windows.TOKEN_QUERY, &tok); err != nil {
		return p, fmt.Errorf("reading peer process %d's token: %w", pid, err)
	}
	defer tok.Close()
	u, err := tok.GetTokenUser()
	if err != nil {
		return p, err
	}
	p.SID = u.User.Sid.String()
	return p, nil
}

// Current returns the user this process runs as.
func Current() Self {
	if u, err := windows.GetCurrentProcessToken().GetTokenUser(); err == nil {
		return Self{UID: -1, SID: u.User.Sid.String()}
	}
	return Self{UID: -1, SID: "unknown"}
}

// Exe returns the executable of process pid, or "".
func Exe(pid int) string {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return ""
	}
	defer windows.CloseHandle(h)
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n := uint32(len(buf))
	if windows.QueryFullProcessImageName(h, 0, &buf[0], &n) != nil {
		return ""
	}
	return windows.UTF16ToString(buf[:n])
}
