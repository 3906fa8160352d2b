package wire

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/codecommitd/codecommitd/internal/clean"
	codecommitdv1 "github.com/codecommitd/codecommitd/proto/codecommitd/v1"
)

// The readiness report is how a daemon a client started says whether it
// listens: one ReadyReport message on the pipe the client passed it
// (envvar.ReadyFD), then the end of the pipe.

// Readiness is the outcome a started daemon reports.
type Readiness int

// Readiness values.
const (
	// Ready: it listens on the socket.
	Ready Readiness = iota + 1
	// AlreadyRunning: another daemon holds the socket, and may still be
	// binding it.
	AlreadyRunning
	// Failed: it stopped before listening; the message says why.
	Failed
)

// MaxReadyReport bounds the report a client reads.
const MaxReadyReport = 4096

// EncodeReadyReport encodes a daemon's report: outcome, and for people one
// line saying why.
func EncodeReadyReport(outcome Readiness, why string) ([]byte, error) {
	m := &codecommitdv1.ReadyReport{Message: clean.Line(why, MaxReadyReport/2)}
	switch outcome {
	case Ready:
		m.Outcome = codecommitdv1.ReadyReport_OUTCOME_READY
	case AlreadyRunning:
		m.Outcome = codecommitdv1.ReadyReport_OUTCOME_ALREADY_RUNNING
	default:
		m.Outcome = codecommitdv1.ReadyReport_OUTCOME_FAILED
	}
	return proto.Marshal(m)
}

// ErrNoReport is DecodeReadyReport's error for a pipe that ended with
// nothing on it: the daemon exited before it could say.
var ErrNoReport = errors.New("the daemon exited before listening")

// DecodeReadyReport decodes what EncodeReadyReport encoded. A report that
// does not decode, or says nothing this client knows, is an error; so is
// none at all (ErrNoReport).
func DecodeReadyReport(b []byte) (Readiness, string, error) {
	if len(b) == 0 {
		return 0, "", ErrNoReport
	}
	var m codecommitdv1.ReadyReport
	if err := proto.Unmarshal(b, &m); err != nil {
		return 0, "", errors.New("the daemon's readiness report cannot be read (is it of another version of codecommitd?)")
	}
	why := clean.Line(m.GetMessage(), MaxReadyReport/2)
	switch m.GetOutcome() {
	case codecommitdv1.ReadyReport_OUTCOME_READY:
		return Ready, why, nil
	case codecommitdv1.ReadyReport_OUTCOME_ALREADY_RUNNING:
		return AlreadyRunning, why, nil
	case codecommitdv1.ReadyReport_OUTCOME_FAILED:
		return Failed, why, nil
	}
	return 0, "", fmt.Errorf("the daemon's readiness report has an outcome this client does not know (%d): %s", m.GetOutcome(), why)
}
