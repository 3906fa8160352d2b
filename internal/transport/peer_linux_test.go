package transport

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
)

const procTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1511 1 00000000b83808a2 100 0 0 10 0
   1: 0100007F:A279 0100007F:E1E6 01 00000000:00000000 00:00000000 00000000  1000        0 5243 1 000000007f02a543 20 4 30 10 -1
   2: 0100007F:E1E6 0100007F:A279 01 00000000:00000000 00:00000000 00000000     0        0 5244 1 000000007f02a544 20 4 30 10 -1
`

const procTCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000100007F:C350 0000000000000000FFFF00000100007F:E1E6 01 00000000:00000000 00:00000000 00000000 65534        0 7 1 0000000000000000 20 4 30 10 -1
   1: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   42        0 8 1 0000000000000000 100 0 0 10 0
`

func TestFindSocketUID(t *testing.T) {
	lo := func(port uint16) netip.AddrPort { return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port) }
	cases := []struct {
		name, table   string
		local, remote netip.AddrPort
		uid           int
		found         bool
	}{
		{"the client's side of a connection", procTCP, lo(0xA279), lo(0xE1E6), 1000, true},
		{"the server's side", procTCP, lo(0xE1E6), lo(0xA279), 0, true},
		{"no such connection", procTCP, lo(0xA279), lo(0xE1E7), -1, false},
		{"an IPv4-mapped IPv6 socket", procTCP6, lo(0xC350), lo(0xE1E6), 65534, true},
		{"::1", procTCP6, netip.AddrPortFrom(netip.IPv6Loopback(), 0x1F90), netip.AddrPortFrom(netip.IPv6Unspecified(), 0), 42, true},
	}
	for _, tc := range cases {
		uid, found, err := findSocketUID(strings.NewReader(tc.table), tc.local, tc.remote)
		if err != nil || found != tc.found || uid != tc.uid {
			t.Errorf("%s: %d %v %v, want %d %v", tc.name, uid, found, err, tc.uid, tc.found)
		}
	}
	for _, bad := range []string{"title\n 0: 0100007F:A279\n", "title\n 0: 0100007G:A279 0100007F:E1E6 01 0 0 0 x 0\n"} {
		if _, _, err := findSocketUID(strings.NewReader(bad), netip.AddrPort{}, netip.AddrPort{}); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}

// TestSocketUIDOfARealConnection connects to a listener and finds the
// client's socket, and its user, in /proc/net/tcp.
func TestSocketUIDOfARealConnection(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	uid, err := socketUID(s.RemoteAddr().(*net.TCPAddr).AddrPort(), s.LocalAddr().(*net.TCPAddr).AddrPort())
	if err != nil || uid != os.Geteuid() {
		t.Errorf("socketUID: %d, %v; want %d", uid, err, os.Geteuid())
	}
}

// FuzzFindSocketUID checks that no table breaks the parser, and that a
// line written as the kernel writes it is found.
func FuzzFindSocketUID(f *testing.F) {
	f.Add(procTCP, uint16(0xA279), uint16(0xE1E6), uint32(7))
	f.Add(procTCP6, uint16(1), uint16(2), uint32(0))
	f.Fuzz(func(t *testing.T, table string, lport, rport uint16, uid uint32) {
		findSocketUID(strings.NewReader(table), netip.AddrPort{}, netip.AddrPort{})
		local := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), lport)
		remote := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), rport)
		line := fmt.Sprintf("title\n 0: %s %s 01 00000000:00000000 00:00000000 00000000 %d 0 1 1\n", procAddr(local), procAddr(remote), uid)
		got, found, err := findSocketUID(strings.NewReader(line), local, remote)
		if err != nil || !found || got != int(uid) {
			t.Fatalf("%q: %d %v %v, want %d", line, got, found, err, uid)
		}
	})
}

// procAddr writes an IPv4 address as /proc/net/tcp does: the address as
// a number in the machine's byte order, in hex.
func procAddr(a netip.AddrPort) string {
	b := a.Addr().As4()
	return fmt.Sprintf("%08X:%04X", binary.NativeEndian.Uint32(b[:]), a.Port())
}
