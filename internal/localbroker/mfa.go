package localbroker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/codecommitd/codecommitd/internal/awsprofile"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/credmgr"
	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/sigv4"
)

// DefaultMFAPromptTimeout is how long the daemon waits for the one client
// asking a person for an MFA code before other waiting clients give up.
const DefaultMFAPromptTimeout = 2 * time.Minute

// mfaSession is an MFA session of a profile's chain (awsprofile.Chain), as
// that profile's requests ask for it.
type mfaSession struct {
	*awsprofile.MFASession
	// profile is the profile asking, named in messages.
	profile string
	// classify turns the SDK's errors into broker errors; nil keeps them.
	classify func(error) error
}

// cannotPrompt is the error of a caller that cannot ask for a code when
// no other caller is asking.
func (s *mfaSession) cannotPrompt() error {
	return &broker.Error{
		Kind: broker.ErrMFARequired, Profile: s.profile, MFASerial: s.Serial, CannotPrompt: true,
		Msg: fmt.Sprintf("profile %s needs a new MFA session (device %s), and this git cannot ask for a code (no terminal, no askpass program); "+
			"run a git command for it in a terminal once (the session then lasts %s), or set mfa_process in the profile, or "+envvar.Askpass+" to a program that prints the code",
			s.profile, s.Serial, cmp.Or(s.Ext.MFASessionDuration, awsprofile.DefaultMFASessionDuration)),
	}
}

// required is the error that asks the client for a code.
func (s *mfaSession) required() error {
	return &broker.Error{
		Kind: broker.ErrMFARequired, Profile: s.profile, MFASerial: s.Serial, MFAProcess: s.Ext.MFAProcess,
		Msg: fmt.Sprintf("MFA required for %s (profile %s)", s.Serial, s.profile),
	}
}

// mfaGate lets exactly one client prompt for an MFA device's code while
// the others wait for its outcome.
type mfaGate struct {
	mu      sync.Mutex
	pending map[string]*prompt // by session key
}

type prompt struct {
	done     chan struct{}
	err      error // set before done is closed
	deadline time.Time
}

// waitFor returns the prompt another caller holds for key, or nil.
func (g *mfaGate) waitFor(key string, now time.Time) *prompt {
	g.mu.Lock()
	defer g.mu.Unlock()
	if p, ok := g.pending[key]; ok && now.Before(p.deadline) {
		return p
	}
	return nil
}

// claim makes the caller the prompter for key and returns nil, or returns
// the prompt another caller already claimed.
func (g *mfaGate) claim(key string, now time.Time, timeout time.Duration) *prompt {
	g.mu.Lock()
	defer g.mu.Unlock()
	if p, ok := g.pending[key]; ok && now.Before(p.deadline) {
		return p
	}
	if g.pending == nil {
		g.pending = make(map[string]*prompt)
	}
	g.pending[key] = &prompt{done: make(chan struct{}), deadline: now.Add(timeout)}
	return nil
}

// finish ends the prompt for key, if any, with err.
func (g *mfaGate) finish(key string, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if p, ok := g.pending[key]; ok {
		p.err = err
		close(p.done)
		delete(g.pending, key)
	}
}

// errPromptAbandoned is how a prompt ends when its client could not get a
// code: the callers waiting for it may claim it themselves.
var errPromptAbandoned = errors.New("the MFA prompt was abandoned")

// mfaAsk is what a request brings to an MFA session: a code, whether its
// caller can prompt, and whether its caller's prompt just failed.
type mfaAsk struct {
	code         string
	canPrompt    bool
	promptFailed bool
}

// ensureMFA makes sure the session s is usable, so the role credentials
// built on it can be fetched. Without a code, the first caller that can
// prompt gets ErrMFARequired (and prompts); later callers wait for its
// outcome. A caller that cannot prompt never holds the prompt: it waits for
// one that can, or gets an error saying how to provide a code.
func (b *Broker) ensureMFA(ctx context.Context, s *mfaSession, ask mfaAsk) error {
	if ask.promptFailed {
		b.mfa.finish(s.Key, errPromptAbandoned)
		return s.required()
	}
	canPrompt := ask.canPrompt || s.Ext.MFAProcess != ""
	for {
		if _, ok := b.manager.Peek(s.Key); ok {
			return nil
		}
		if ask.code != "" {
			_, err := b.manager.Get(ctx, s.spec(ask.code))
			b.mfa.finish(s.Key, err)
			return err
		}
		p := b.mfa.waitFor(s.Key, time.Now())
		if p == nil && !canPrompt {
			return s.cannotPrompt()
		}
		if p == nil {
			if p = b.mfa.claim(s.Key, time.Now(), b.mfaTimeout); p == nil {
				return s.required()
			}
		}
		select {
		case <-p.done:
			switch {
			case errors.Is(p.err, errPromptAbandoned):
				continue // its client could not prompt: maybe this one can
			case p.err != nil:
				return &broker.Error{
					Kind: broker.ErrMFAInvalid, Profile: s.profile, MFASerial: s.Serial,
					Msg: fmt.Sprintf("the MFA code entered in another git process for %s (profile %s) failed: %v; run the command again", s.Serial, s.profile, p.err),
				}
			}
		case <-time.After(time.Until(p.deadline)):
			return broker.Errorf(broker.ErrSourceFailed, s.profile,
				"gave up after %s waiting for the MFA code another git process is asking for (%s, profile %s); run the command again",
				b.mfaTimeout, s.Serial, s.profile)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// spec is the manager's entry of the session, fetched with code.
func (s *mfaSession) spec(code string) credmgr.Spec {
	duration := s.Ext.MFASessionDuration
	if duration == 0 {
		duration = awsprofile.DefaultMFASessionDuration
	}
	return credmgr.Spec{
		Key: s.Key, Profile: s.profile, Source: "MFA session " + s.Serial, Interactive: true,
		Fetch: func(ctx context.Context) (sigv4.Credentials, error) {
			if code == "" {
				return sigv4.Credentials{}, s.required()
			}
			out, err := s.STS.GetSessionToken(ctx, &sts.GetSessionTokenInput{
				SerialNumber: aws.String(s.Serial), TokenCode: aws.String(code),
				DurationSeconds: aws.Int32(int32(duration / time.Second)),
			}, func(o *sts.Options) { o.Credentials = s.Source })
			if err != nil {
				var api smithy.APIError
				if errors.As(err, &api) && api.ErrorCode() == "AccessDenied" && strings.Contains(strings.ToLower(api.ErrorMessage()), "mfa") {
					return sigv4.Credentials{}, &broker.Error{
						Kind: broker.ErrMFAInvalid, Profile: s.profile, MFASerial: s.Serial,
						Msg: fmt.Sprintf("AWS rejected the MFA code for %s (profile %s): %s; wait for the next code and run the command again",
							s.Serial, s.profile, clean.Line(clean.Redact(api.ErrorMessage()), 200)),
						Err: err,
					}
				}
				if s.classify != nil {
					err = s.classify(err)
				}
				return sigv4.Credentials{}, err
			}
			c := out.Credentials
			return sigv4.Credentials{
				AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
				SessionToken: aws.ToString(c.SessionToken), Expires: aws.ToTime(c.Expiration), Source: "MFA session " + s.Serial,
			}, nil
		},
	}
}
