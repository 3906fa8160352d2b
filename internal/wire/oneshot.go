package wire

import (
	"errors"
	"fmt"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/codecommitd/codecommitd/internal/broker"
	codecommitdv1 "github.com/codecommitd/codecommitd/proto/codecommitd/v1"
)

// The one-shot protocol is how a client resolves a request without a
// daemon: it runs `codecommitd oneshot`, writes one SignURLRequest message
// to its stdin, and reads one result from its stdout: a byte 0 and a
// SignURLResponse, or a byte 1 and a google.rpc.Status carrying the same
// ErrorDetail the daemon would send.

const (
	oneshotOK  = 0
	oneshotErr = 1
)

// EncodeOneshotRequest encodes a request for `codecommitd oneshot`.
func EncodeOneshotRequest(r *broker.SignRequest) ([]byte, error) {
	return proto.Marshal(SignRequestToProto(r))
}

// DecodeOneshotRequest decodes what EncodeOneshotRequest encoded.
func DecodeOneshotRequest(b []byte) (*broker.SignRequest, error) {
	var m codecommitdv1.SignURLRequest
	if err := proto.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decoding one-shot request: %w", err)
	}
	return SignRequestFromProto(&m), nil
}

// EncodeOneshotResult encodes the outcome of a one-shot request.
func EncodeOneshotResult(s *broker.SignedURL, err error) ([]byte, error) {
	if err != nil {
		b, merr := proto.Marshal(status.Convert(ToStatus(err)).Proto())
		return append([]byte{oneshotErr}, b...), merr
	}
	b, merr := proto.Marshal(SignedURLToProto(s))
	return append([]byte{oneshotOK}, b...), merr
}

// DecodeOneshotResult decodes what EncodeOneshotResult encoded; the error
// it returns is the broker error the one-shot run ended with.
func DecodeOneshotResult(b []byte) (*broker.SignedURL, error) {
	if len(b) == 0 {
		return nil, errors.New("empty one-shot result")
	}
	switch b[0] {
	case oneshotOK:
		var m codecommitdv1.SignURLResponse
		if err := proto.Unmarshal(b[1:], &m); err != nil {
			return nil, fmt.Errorf("decoding one-shot result: %w", err)
		}
		return SignedURLFromProto(&m), nil
	case oneshotErr:
		var st spb.Status
		if err := proto.Unmarshal(b[1:], &st); err != nil {
			return nil, fmt.Errorf("decoding one-shot error: %w", err)
		}
		err := status.FromProto(&st).Err()
		if err == nil {
			return nil, errors.New("one-shot result reports a failure with status OK")
		}
		return nil, FromStatus(err)
	}
	return nil, fmt.Errorf("one-shot result starts with unknown byte %d", b[0])
}
