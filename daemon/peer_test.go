//go:build unix

package daemon

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/peercred"
	"github.com/codecommitd/codecommitd/internal/testprobe"
	"github.com/codecommitd/codecommitd/internal/wire"
	codecommitdv1 "github.com/codecommitd/codecommitd/proto/codecommitd/v1"
)

// countingBroker counts the requests that reach it.
type countingBroker struct{ calls atomic.Int32 }

func (b *countingBroker) SignURL(context.Context, *broker.SignRequest) (*broker.SignedURL, error) {
	b.calls.Add(1)
	return &broker.SignedURL{URL: "https://h/v1/repos/r", Username: "u", Password: "p"}, nil
}
func (b *countingBroker) Status(context.Context) (*broker.Status, error) {
	b.calls.Add(1)
	return &broker.Status{}, nil
}
func (b *countingBroker) Forget(context.Context, string, bool) (int, error) {
	b.calls.Add(1)
	return 0, nil
}
func (b *countingBroker) SSOSessionChanged(context.Context, broker.SSOSession) error {
	b.calls.Add(1)
	return nil
}

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serve runs a gRPC server whose peer check answers with of.
func serve(t *testing.T, of func(syscall.Conn) (peercred.Peer, error)) (codecommitdv1.BrokerServiceClient, *countingBroker, *lockedBuffer) {
	t.Helper()
	sock := filepath.Join(testprobe.ShortDir(t), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	b := &countingBroker{}
	logs := &lockedBuffer{}
	srv := newGRPCServer(b, nil, slog.New(slog.NewTextHandler(logs, nil)), peerCreds{self: peercred.Self{UID: os.Getuid()}, of: of})
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return codecommitdv1.NewBrokerServiceClient(conn), b, logs
}

func TestStrangersAreRefusedBeforeTheirRequestIsRead(t *testing.T) {
	me := os.Getuid()
	for _, tc := range []struct {
		name string
		of   func(syscall.Conn) (peercred.Peer, error)
		want []string // in the refusal; nil: admitted
	}{
		{"same uid", func(syscall.Conn) (peercred.Peer, error) { return peercred.Peer{UID: me, PID: 42}, nil }, nil},
		{"other uid", func(syscall.Conn) (peercred.Peer, error) { return peercred.Peer{UID: me + 1, PID: 42}, nil },
			[]string{"serves only its own user", "pid 42"}},
		{"unknown peer", func(syscall.Conn) (peercred.Peer, error) { return peercred.Peer{UID: -1}, errors.New("no credentials") },
			[]string{"could not identify"}},
		{"SID mismatch", func(syscall.Conn) (peercred.Peer, error) { return peercred.Peer{UID: -1, SID: "S-1-5-21-7"}, nil },
			[]string{"S-1-5-21-7"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api, b, logs := serve(t, tc.of)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			// A request far over the size limit, naming a profile: a
			// stranger's is refused before it is read, so it says
			// PermissionDenied, not ResourceExhausted, and its profile is
			// never logged.
			big := &codecommitdv1.SignURLRequest{Profile: "stranger-profile", Repository: "repo",
				Env: map[string]string{"HOME": strings.Repeat("x", 2*wire.MaxRequest)}}
			_, err := api.SignURL(ctx, big)
			if tc.want == nil {
				if status.Code(err) != codes.ResourceExhausted {
					t.Fatalf("an oversized request from our own user = %v, want ResourceExhausted", err)
				}
				if _, err := api.SignURL(ctx, &codecommitdv1.SignURLRequest{Repository: "repo"}); err != nil || b.calls.Load() != 1 {
					t.Fatalf("own user refused: %v (calls %d)", err, b.calls.Load())
				}
				return
			}
			if status.Code(err) != codes.PermissionDenied || len(status.Convert(err).Details()) != 1 {
				t.Fatalf("stranger's request = %v, want PermissionDenied with its detail", err)
			}
			if !errors.Is(wire.FromStatus(err), broker.ErrPermissionDenied) {
				t.Errorf("the refusal is not typed: %v", wire.FromStatus(err))
			}
			// broker.Say shows a refusal as it is: it names codecommitd.
			if !strings.HasPrefix(status.Convert(err).Message(), "codecommitd ") {
				t.Errorf("refusal %q does not name codecommitd", status.Convert(err).Message())
			}
			for _, w := range tc.want {
				if !strings.Contains(status.Convert(err).Message(), w) {
					t.Errorf("refusal %q does not say %q", status.Convert(err).Message(), w)
				}
			}
			if _, err := api.GetStatus(ctx, &codecommitdv1.GetStatusRequest{}); status.Code(err) != codes.PermissionDenied {
				t.Errorf("stranger's status = %v", err)
			}
			if b.calls.Load() != 0 {
				t.Fatalf("a stranger's request reached the broker %d times", b.calls.Load())
			}
			if l := logs.String(); !strings.Contains(l, "request refused") || strings.Contains(l, "stranger-profile") {
				t.Errorf("audit log: want the refusal and no decoded request:\n%s", l)
			}
		})
	}
}
