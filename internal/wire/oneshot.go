package wire

import (
	"errors"
	"fmt"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
	codecommitdv1 "github.com/codecommitd/codecommitd/proto/codecommitd/v1"
)

// The one-shot protocol is how a client resolves a request without a
// daemon: it runs `codecommitd oneshot`, writes one SignURLRequest message
// to its stdin, and reads one result from its stdout, which the one-shot
// always writes: a byte 0 and a SignURLResponse; a byte 1 and a
// google.rpc.Status carrying the same ErrorDetail the daemon would send;
// or a byte 2 and a google.rpc.Status whose message says why the one-shot
// never asked the broker (a request it could not read, a hardening that
// failed). No result, or one that does not decode, means it crashed. (A
// client built before byte 2, none deployed, reports it as a result it
// cannot read.)

const (
	oneshotOK     = 0
	oneshotErr    = 1
	oneshotFailed = 2
)

// ErrBadOneshotResult is DecodeOneshotResult's error for a result that is
// missing or does not decode.
var ErrBadOneshotResult = errors.New("the one-shot gave no result that can be read")

// OneshotFailure is the one-shot's own failure, before it asked the
// broker: Msg says why.
type OneshotFailure struct{ Msg string }

func (e *OneshotFailure) Error() string { return e.Msg }

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

// EncodeOneshotResult encodes the broker's outcome of a one-shot request.
func EncodeOneshotResult(s *broker.SignedURL, err error) ([]byte, error) {
	if err != nil {
		b, merr := proto.Marshal(status.Convert(ToStatus(err)).Proto())
		return append([]byte{oneshotErr}, b...), merr
	}
	b, merr := proto.Marshal(SignedURLToProto(s))
	return append([]byte{oneshotOK}, b...), merr
}

// EncodeOneshotFailure encodes why the one-shot could not ask the broker.
func EncodeOneshotFailure(err error) ([]byte, error) {
	b, merr := proto.Marshal(status.New(codes.Internal, message(err)).Proto())
	return append([]byte{oneshotFailed}, b...), merr
}

// DecodeOneshotResult decodes what EncodeOneshotResult or
// EncodeOneshotFailure encoded: the signed URL, or the broker error the
// run ended with, or a *OneshotFailure. A result that is missing or does
// not decode is ErrBadOneshotResult.
func DecodeOneshotResult(b []byte) (*broker.SignedURL, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: it is empty", ErrBadOneshotResult)
	}
	switch b[0] {
	case oneshotOK:
		var m codecommitdv1.SignURLResponse
		if err := proto.Unmarshal(b[1:], &m); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadOneshotResult, err)
		}
		return SignedURLFromProto(&m), nil
	case oneshotErr, oneshotFailed:
		var st spb.Status
		if err := proto.Unmarshal(b[1:], &st); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadOneshotResult, err)
		}
		err := status.FromProto(&st).Err()
		switch {
		case err == nil:
			return nil, fmt.Errorf("%w: it reports a failure with status OK", ErrBadOneshotResult)
		case b[0] == oneshotFailed:
			return nil, &OneshotFailure{Msg: clean.Line(st.GetMessage(), MaxMessage)}
		}
		return nil, FromStatus(err)
	}
	return nil, fmt.Errorf("%w: it starts with unknown byte %d", ErrBadOneshotResult, b[0])
}
