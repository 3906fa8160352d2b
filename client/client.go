package client

import (
	"context"
	"path/filepath"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/privdir"
	"github.com/codecommitd/codecommitd/internal/wire"
	codecommitdv1 "github.com/codecommitd/codecommitd/proto/codecommitd/v1"
)

// Client is a broker.Broker that talks to a daemon over its socket.
type Client struct {
	conn *grpc.ClientConn
	api  codecommitdv1.BrokerServiceClient
}

var _ broker.Broker = (*Client)(nil)

// Dial returns a Client for the daemon on socket. It does not connect until
// the first call; a call to a daemon that is not there fails at once with
// an error wrapping broker.ErrUnavailable. It refuses a socket whose folder
// is not this user's own and private: whoever listens there could be
// someone else, and requests carry environment credentials and MFA codes.
func Dial(socket string) (*Client, error) {
	if err := privdir.Check(filepath.Dir(socket)); err != nil && !privdir.IsNotExist(err) {
		return nil, &broker.Error{Kind: broker.ErrUnavailable, Msg: err.Error()}
	}
	conn, err := grpc.NewClient("unix://"+socket,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// The socket is local: skip the proxy and DNS machinery.
		grpc.WithNoProxy(),
	)
	if err != nil {
		return nil, err
	}
	return &Client{conn: conn, api: codecommitdv1.NewBrokerServiceClient(conn)}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// SignURL implements broker.Broker.
func (c *Client) SignURL(ctx context.Context, req *broker.SignRequest) (*broker.SignedURL, error) {
	resp, err := c.api.SignURL(ctx, wire.SignRequestToProto(req))
	if err != nil {
		return nil, wire.FromStatus(err)
	}
	return wire.SignedURLFromProto(resp), nil
}

// Status implements broker.Broker.
func (c *Client) Status(ctx context.Context) (*broker.Status, error) {
	resp, err := c.api.GetStatus(ctx, &codecommitdv1.GetStatusRequest{})
	if err != nil {
		return nil, wire.FromStatus(err)
	}
	return wire.StatusFromProto(resp), nil
}

// Forget implements broker.Broker.
func (c *Client) Forget(ctx context.Context, profile string, all bool) (int, error) {
	resp, err := c.api.Forget(ctx, &codecommitdv1.ForgetRequest{Profile: profile, All: all})
	if err != nil {
		return 0, wire.FromStatus(err)
	}
	return int(resp.GetForgotten()), nil
}
