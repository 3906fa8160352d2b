package client

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/wire"
	codecommitdv1 "github.com/codecommitd/codecommitd/proto/codecommitd/v1"
)

var _ broker.Transporter = (*Client)(nil)

// errUnimplemented is a daemon's answer that it runs no git transport (an
// older one, or one that could not listen on loopback).
var errUnimplemented = errors.New("the daemon runs no git transport")

// OpenTransport implements broker.Transporter: it opens the transport
// stream and waits for its first event (the grant) as long as ctx allows,
// with the same checks as any call (a daemon that does not answer fails it
// within seconds). The stream then outlives ctx: the capability lasts
// until Release, or until the daemon ends the stream (it stopped, or the
// connection broke), which closes Ended. A daemon without a transport is
// an error wrapping ErrNoTransport.
func (c *Client) OpenTransport(ctx context.Context, req *broker.TransportRequest) (*broker.Capability, error) {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var stream grpc.ServerStreamingClient[codecommitdv1.OpenTransportResponse]
	var first *codecommitdv1.OpenTransportResponse
	err := c.call(ctx, func(cctx context.Context) error {
		// Giving up on the call (its deadline, a daemon that does not
		// answer) ends the stream; once the grant came, nothing does.
		stop := context.AfterFunc(cctx, cancel)
		defer stop()
		s, err := c.api.OpenTransport(sctx, wire.TransportRequestToProto(req))
		if err == nil {
			first, err = s.Recv()
		}
		if status.Code(err) == codes.Unimplemented {
			return errUnimplemented
		}
		stream = s
		return err
	})
	if err != nil {
		cancel()
		if errors.Is(err, errUnimplemented) {
			return nil, fmt.Errorf("%w: %w", ErrNoTransport, err)
		}
		return nil, err
	}
	capability := wire.GrantFromProto(first.GetGrant())
	ended := make(chan struct{})
	go func() {
		for {
			if _, err := stream.Recv(); err != nil {
				break
			}
		}
		if sctx.Err() == nil { // not released: the daemon ended it
			close(ended)
		}
		cancel()
	}()
	capability.Ended, capability.Release = ended, cancel
	return capability, nil
}
