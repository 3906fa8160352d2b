package transport

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// peerCheck reports whether the system tells who owns a loopback
// connection: on Linux, /proc/net/tcp and /proc/net/tcp6 list every TCP
// socket of the network namespace with its owner's uid.
const peerCheck = true

// socketUID returns the uid that owns the TCP socket whose own address is
// local and whose peer is remote: for a connection accepted on the
// loopback listener, local is the connection's remote address.
func socketUID(local, remote netip.AddrPort) (int, error) {
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // no IPv6 here
			}
			return -1, fmt.Errorf("%s cannot be read", name)
		}
		uid, found, err := findSocketUID(f, local, remote)
		f.Close()
		if err != nil {
			return -1, fmt.Errorf("%s: %w", name, err)
		}
		if found {
			return uid, nil
		}
	}
	return -1, errors.New("the connection is not in /proc/net/tcp or /proc/net/tcp6")
}

// findSocketUID reads a /proc/net/tcp or tcp6 table and returns the uid of
// the socket with local and remote addresses (IPv4-mapped IPv6 addresses
// match their IPv4 ones).
//
// A line is "sl local rem st tx:rx tr:when retrnsmt uid timeout inode …",
// an address is the IP in hex, 4-byte words in the kernel's byte order,
// then ':' and the port in hex.
func findSocketUID(r io.Reader, local, remote netip.AddrPort) (uid int, found bool, err error) {
	local, remote = unmap(local), unmap(remote)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), 4096)
	first := true
	for sc.Scan() {
		if first { // the column titles
			first = false
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 8 {
			return -1, false, errors.New("a line with fewer than 8 fields")
		}
		l, ok1 := parseProcAddr(f[1])
		rm, ok2 := parseProcAddr(f[2])
		if !ok1 || !ok2 {
			return -1, false, errors.New("an address that does not parse")
		}
		if l != local || rm != remote {
			continue
		}
		n, err := strconv.ParseUint(f[7], 10, 32)
		if err != nil {
			return -1, false, errors.New("a uid that is not a number")
		}
		return int(n), true, nil
	}
	if err := sc.Err(); err != nil {
		return -1, false, errors.New("it cannot be read to its end")
	}
	return -1, false, nil
}

// parseProcAddr reads "0100007F:1F90" (IPv4) or 32 hex digits and a port
// (IPv6) as /proc/net/tcp{,6} write them.
func parseProcAddr(s string) (netip.AddrPort, bool) {
	ipHex, portHex, ok := strings.Cut(s, ":")
	if !ok || len(portHex) != 4 || (len(ipHex) != 8 && len(ipHex) != 32) {
		return netip.AddrPort{}, false
	}
	raw, err := hex.DecodeString(ipHex)
	if err != nil {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	// Each 4-byte word is a number the kernel printed in its own byte
	// order; turn each back into the bytes it holds.
	ip := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(ip[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	a, _ := netip.AddrFromSlice(ip)
	return unmap(netip.AddrPortFrom(a, uint16(port))), true
}

func unmap(a netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()) }
