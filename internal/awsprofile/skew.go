package awsprofile

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/codecommitd/codecommitd/internal/broker"
)

// skewRecorder remembers how far AWS's clock (the Date header of its last
// answer) was from ours.
type skewRecorder struct {
	mu       sync.Mutex
	skew     time.Duration // AWS minus local
	observed time.Time     // local time of the observation
}

func (s *skewRecorder) observe(remote, local time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skew, s.observed = remote.Sub(local), local
}

// ClockSkew returns how far AWS's clock was ahead of this machine's (negative:
// behind) at the last AWS answer, and when that was; zero times when no
// answer was seen yet.
func (r *Resolver) ClockSkew() (skew time.Duration, observed time.Time) {
	r.skew.mu.Lock()
	defer r.skew.mu.Unlock()
	return r.skew.skew, r.skew.observed
}

// SkewWarning returns a one-line warning when the last observed skew is
// over broker.MaxClockSkew, or "".
func (r *Resolver) SkewWarning() string {
	skew, at := r.ClockSkew()
	if at.IsZero() || (skew < broker.MaxClockSkew && skew > -broker.MaxClockSkew) {
		return ""
	}
	return SkewMessage(skew, at)
}

// SkewMessage describes a clock skew and its fix.
func SkewMessage(skew time.Duration, at time.Time) string {
	dir := "behind"
	if skew < 0 {
		dir, skew = "ahead of", -skew
	}
	return fmt.Sprintf("this machine's clock is %s %s AWS's (AWS said %s when the local clock said %s); AWS refuses signatures more than 5 minutes off: fix the clock (NTP; on WSL after sleep: `sudo hwclock -s`)",
		skew.Round(time.Second), dir, at.Add(skewSign(dir)*skew).UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
}

func skewSign(dir string) time.Duration {
	if dir == "behind" {
		return 1
	}
	return -1
}

// recordDate is an SDK API option that notes the Date header of every AWS
// answer, successful or not.
func (r *Resolver) recordDate(stack *middleware.Stack) error {
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("codecommitdClockSkew",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			if resp, ok := out.RawResponse.(*smithyhttp.Response); ok {
				if d, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
					r.skew.observe(d, time.Now())
				}
			}
			return out, md, err
		}), middleware.After)
}
