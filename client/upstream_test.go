//go:build unix

package client

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/testprobe"
	"github.com/codecommitd/codecommitd/internal/wire"
	codecommitdv1 "github.com/codecommitd/codecommitd/proto/codecommitd/v1"
)

// failingDaemon answers every request with err.
type failingDaemon struct {
	codecommitdv1.UnimplementedBrokerServiceServer
	err error
}

func (d failingDaemon) SignURL(context.Context, *codecommitdv1.SignURLRequest) (*codecommitdv1.SignURLResponse, error) {
	return nil, d.err
}

// TestAnUpstreamFailureIsNotAGoneDaemon: a daemon whose STS is down is
// there: the helper reports its error and neither starts another daemon
// nor resolves in-process, also when the status lost its detail.
func TestAnUpstreamFailureIsNotAGoneDaemon(t *testing.T) {
	down := broker.Errorf(broker.ErrSourceFailed, "dev", "profile dev: AWS STS failed (HTTP 503); codecommitd tries again by itself").
		WithCause(errors.Join(broker.ErrTemporary, errors.New("503")))
	sent := wire.ToStatus(down)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"with its detail", sent},
		{"without its detail", status.Error(status.Code(sent), status.Convert(sent).Message())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			socket := filepath.Join(testprobe.ShortDir(t), "d.sock")
			l, err := net.Listen("unix", socket)
			if err != nil {
				t.Fatal(err)
			}
			srv := grpc.NewServer()
			codecommitdv1.RegisterBrokerServiceServer(srv, failingDaemon{err: tc.err})
			go srv.Serve(l)
			t.Cleanup(srv.Stop)
			bin, runs := recordingDaemon(t)
			var stderr bytes.Buffer
			a := &Auto{Socket: socket, Autostart: true, Daemon: bin, Stderr: &stderr}
			defer a.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err = a.SignURL(ctx, &broker.SignRequest{Repository: "repo"})
			if !errors.Is(err, broker.ErrSourceFailed) || errors.Is(err, broker.ErrUnavailable) || err.Error() != down.Error() {
				t.Errorf("SignURL = %v, want the daemon's source failure", err)
			}
			if b, _ := os.ReadFile(runs); len(b) > 0 || strings.Contains(stderr.String(), "resolving in this process") {
				t.Errorf("the helper went around a daemon that answered: ran %q, said %q", b, stderr.String())
			}
		})
	}
}
