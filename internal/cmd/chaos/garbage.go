//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/testenv"
	codecommitdv1 "github.com/codecommitd/codecommitd/proto/codecommitd/v1"
)

// garbage is scenario (4): what a broken or hostile client of the same
// user can send, then a real request.
func garbage(ctx context.Context, bin string) (bool, error) {
	e, err := testenv.Temp(bin, "dev")
	if err != nil {
		return false, err
	}
	defer e.Close()
	if err := e.StartDaemon(ctx); err != nil {
		return false, err
	}
	pid := e.DaemonPID()
	send := func(b []byte) {
		c, err := net.DialTimeout("unix", e.Socket, time.Second)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(b)
	}
	junk := make([]byte, 10<<20)
	rand.Read(junk)
	preface := []byte(http2.ClientPreface)
	frameHeader := func(length uint32, typ http2.FrameType, flags http2.Flags, stream uint32) []byte {
		h := make([]byte, 9)
		h[0], h[1], h[2] = byte(length>>16), byte(length>>8), byte(length)
		h[3], h[4] = byte(typ), byte(flags)
		binary.BigEndian.PutUint32(h[5:], stream)
		return h
	}
	cases := []struct {
		name string
		run  func()
	}{
		{"10 MiB of random bytes", func() { send(junk) }},
		{"NUL bytes", func() { send(make([]byte, 1<<16)) }},
		{"a truncated preface", func() { send(preface[:10]) }},
		{"a truncated frame header", func() { send(append(append([]byte(nil), preface...), 0, 0, 4)) }},
		{"a frame claiming 16 MiB", func() {
			send(append(append(append([]byte(nil), preface...), frameHeader(0, http2.FrameSettings, 0, 0)...), frameHeader(1<<24-1, http2.FrameData, 0, 1)...))
		}},
		{"a gRPC message claiming 2 GiB", func() { send(grpcRequest(preface, 0x7fffffff, nil)) }},
		{"a 10 MiB gRPC message", func() { tenMiB(e.Socket) }},
		{"200 connections that send the preface and stop", func() {
			var held []net.Conn
			for range 200 {
				if c, err := net.Dial("unix", e.Socket); err == nil {
					c.Write(preface)
					held = append(held, c)
				}
			}
			// A real request gets through while they are held.
			if c, err := client.Dial(e.Socket); err == nil {
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				_, err = c.SignURL(cctx, &broker.SignRequest{Profile: "dev", Repository: "repo", Env: map[string]string{"HOME": e.Home}})
				cancel()
				c.Close()
				fmt.Printf("      a request while they are held: %s\n", okOr(err))
			}
			for _, c := range held {
				c.Close()
			}
		}},
	}
	pass := true
	for _, c := range cases {
		c.run()
		alive := pid == e.DaemonPID() && processAlive(pid)
		ok, _, _ := lsRemote(ctx, e)
		fmt.Printf("    %-48s daemon up: %-5v next git operation: %s%s\n", c.name, alive, okOr(boolErr(ok)), mark(alive && ok))
		pass = pass && alive && ok
	}
	clean := noPanic(e.DaemonLog())
	fmt.Printf("    daemon log free of panics                         %v%s\n", clean, mark(clean))
	e.StopDaemon()
	return pass && clean, nil
}

// grpcRequest is a preface, settings, the headers of a SignURL call and a
// DATA frame whose gRPC length prefix says length, followed by body.
func grpcRequest(preface []byte, length uint32, body []byte) []byte {
	var buf bytes.Buffer
	buf.Write(preface)
	fr := http2.NewFramer(&buf, nil)
	fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", "/codecommitd.v1.BrokerService/SignURL"},
		{":authority", "codecommitd"}, {"content-type", "application/grpc"}, {"te", "trailers"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true})
	prefix := make([]byte, 5)
	binary.BigEndian.PutUint32(prefix[1:], length)
	fr.WriteData(1, false, append(prefix, body...))
	return buf.Bytes()
}

// tenMiB sends a real gRPC request of 10 MiB.
func tenMiB(socket string) {
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		return
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	codecommitdv1.NewBrokerServiceClient(conn).SignURL(ctx, &codecommitdv1.SignURLRequest{
		Repository: "repo", Env: map[string]string{"HOME": strings.Repeat("x", 10<<20)}})
}

func processAlive(pid int) bool {
	return pid > 0 && fds(pid) >= 0
}

func okOr(err error) string {
	if err == nil {
		return "ok"
	}
	return "FAILED: " + err.Error()
}

func boolErr(ok bool) error {
	if ok {
		return nil
	}
	return fmt.Errorf("git failed")
}
