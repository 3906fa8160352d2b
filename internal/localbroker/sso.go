package localbroker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/codecommitd/codecommitd/internal/awsprofile"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/sso"
)

// IAM Identity Center sessions: each use of an SSO profile tells the
// keeper (which keeps the session signed in for a day after), and a
// request that finds its session over, from a caller that can show a
// sign-in, starts one that every caller waiting on that session shares.

// SignInSlice bounds one wait for a sign-in within one request. The caller
// then calls again (its answer is ErrSSOSignIn once more), so no request
// outlives the client's bound or its connection's grace, while the sign-in
// itself lasts up to sso.DefaultLoginTimeout.
const SignInSlice = time.Minute

// signInPoll is how often a sign-in under way reads the token file, to
// notice a sign-in done meanwhile elsewhere (`codecommitd login`, `aws sso
// login`).
const signInPoll = time.Second

// errSignInAbandoned ends a sign-in whose caller gave up on it (Ctrl-C):
// the callers waiting for it may start another.
var errSignInAbandoned = errors.New("the sign-in was abandoned by the git process that showed it")

// signInAsk is what a request brings to a session that needs a sign-in.
type signInAsk struct {
	// canPrompt: the caller can show a sign-in to a person.
	canPrompt bool
	// shown is the id of the sign-in the caller shows.
	shown string
	// browser: a browser opens where the caller's person is.
	browser bool
}

// useSSO tells the keeper that p's sessions were used now.
func (b *Broker) useSSO(p *awsprofile.Profile) {
	if b.keeper == nil {
		return
	}
	for _, s := range p.SSO {
		b.keeper.Use(s)
	}
}

// needsSignIn reports whether err is a failure only a new sign-in of its
// session mends.
func needsSignIn(err error) bool {
	switch sso.ReasonOf(err) {
	case sso.ReasonNoToken, sso.ReasonUnreadable, sso.ReasonExpired, sso.ReasonRevoked, sso.ReasonRegistrationExpired, sso.ReasonMismatch:
		return true
	}
	return false
}

// ensureSSO makes sure every session of p's chain is signed in before its
// credentials are fetched: for each that is over, the caller starts a
// sign-in (and shows it), waits for the one under way, or, if it cannot
// show one, learns what to run. refused, if set, is the access token the
// portal refused (a session revoked at IAM Identity Center): a file that
// still holds it is over too. Failures a sign-in does not mend are left
// for the fetch to report.
func (b *Broker) ensureSSO(ctx context.Context, p *awsprofile.Profile, ask signInAsk, refused string) error {
	if !b.signInFromGit {
		return nil
	}
	for _, s := range p.SSO {
		if err := b.signedIn(ctx, p, s, ask, refused); err != nil {
			return err
		}
	}
	return nil
}

func (b *Broker) signedIn(ctx context.Context, p *awsprofile.Profile, s sso.Session, ask signInAsk, refused string) error {
	for {
		tok, err := b.tokens.Fresh(ctx, s)
		over := needsSignIn(err) || (err == nil && refused != "" && tok.AccessToken == refused)
		if !over {
			return nil
		}
		g := b.signIns.get(s.CacheKey())
		if g == nil && !ask.canPrompt {
			return cannotSignIn(p, s, err)
		}
		if g == nil {
			var started bool
			if g, started = b.signIns.claim(s.CacheKey(), func() *signIn { return b.startSignIn(s, ask.browser, tok) }); started {
				select {
				case <-g.ready:
					return g.required(p, true)
				case <-g.done:
					return b.resolver.Classify(p, g.err)
				case <-ctx.Done():
					b.signIns.abandon(g)
					return ctx.Err()
				}
			}
		}
		holder := ask.shown != "" && ask.shown == g.id
		select {
		case <-g.done:
			switch {
			case errors.Is(g.err, errSignInAbandoned):
				continue // its caller gave up: maybe this one shows the next
			case g.err != nil:
				return b.resolver.Classify(p, g.err)
			}
			refused = "" // a new sign-in
		case <-g.ready:
			select {
			case <-g.done:
				continue
			case <-time.After(min(SignInSlice, max(time.Until(g.prompt.Expires), time.Second))):
				return g.required(p, false)
			case <-ctx.Done():
				if holder {
					b.signIns.abandon(g)
				}
				return ctx.Err()
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// cannotSignIn is the one line a caller that cannot show a sign-in gets
// for a session that is over.
func cannotSignIn(p *awsprofile.Profile, s sso.Session, cause error) error {
	what := "has ended"
	switch sso.ReasonOf(cause) {
	case sso.ReasonNoToken:
		what = "is not signed in"
	case sso.ReasonUnreadable:
		what = "needs a new sign-in (its token file cannot be used)"
	case sso.ReasonMismatch:
		what = "needs a new sign-in (its token file is another session's)"
	}
	name := "SSO session " + s.Name
	if s.Legacy() {
		name = "the SSO session of profile " + s.Profile
	}
	return &broker.Error{Kind: broker.ErrSSOExpired, Profile: p.Name, CannotPrompt: true, Err: cause,
		Msg: fmt.Sprintf("%s %s: run %s", name, what, s.LoginCommand())}
}

// signIns lets one caller per session show a sign-in while the others
// wait for it, as the MFA gate does for a prompt.
type signIns struct {
	mu      sync.Mutex
	pending map[string]*signIn // by the session's CacheKey
}

// signIn is one sign-in under way, which the broker runs (package sso's
// Login) and one caller shows.
type signIn struct {
	id      string
	session sso.Session
	// prompt is what to show, set before ready is closed.
	prompt sso.Prompt
	ready  chan struct{}
	// err is how it ended, set before done is closed.
	done chan struct{}
	err  error
	// poke makes it read the token file at once.
	poke      chan struct{}
	cancel    context.CancelFunc
	abandoned bool // guarded by signIns.mu
}

func (s *signIns) get(key string) *signIn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending[key]
}

// claim returns the sign-in under way for key, or one made by start; it
// reports whether start made it.
func (s *signIns) claim(key string, start func() *signIn) (*signIn, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.pending[key]; g != nil {
		return g, false
	}
	if s.pending == nil {
		s.pending = map[string]*signIn{}
	}
	g := start()
	s.pending[key] = g
	return g, true
}

// finish ends g with err and lets the next caller start another.
func (s *signIns) finish(key string, g *signIn, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.abandoned {
		err = errSignInAbandoned
	}
	g.err = err
	close(g.done)
	if s.pending[key] == g {
		delete(s.pending, key)
	}
}

// abandon ends g for its caller's sake (it gave up).
func (s *signIns) abandon(g *signIn) {
	s.mu.Lock()
	g.abandoned = true
	s.mu.Unlock()
	g.cancel()
}

// poke makes the sign-in of key, if any, read the token file at once.
func (s *signIns) poke(key string) {
	if g := s.get(key); g != nil {
		select {
		case g.poke <- struct{}{}:
		default:
		}
	}
}

// under reports whether a sign-in of key is under way.
func (s *signIns) under(key string) bool { return s.get(key) != nil }

// required is the error that hands g to a caller: to show (show), or to
// wait for again.
func (g *signIn) required(p *awsprofile.Profile, show bool) error {
	pr := g.prompt
	what := "waiting for the sign-in to IAM Identity Center of " + g.session.String() + " that another git process shows"
	if show {
		what = "sign in to IAM Identity Center for " + g.session.String()
	}
	return &broker.Error{Kind: broker.ErrSSOSignIn, Profile: p.Name, Msg: what, SignIn: &broker.SignIn{
		ID: g.id, Session: g.session.String(), AuthorizeURL: pr.AuthorizeURL, VerificationURL: pr.VerificationURL,
		UserCode: pr.UserCode, VerificationURLComplete: pr.VerificationURLComplete, Expires: pr.Expires, Show: show,
	}}
}

// startSignIn starts signing s in (the device code grant, or with a
// browser where the person is the authorization code grant) on the
// broker's own context, so the sign-in outlives the request that started
// it; stale is the token the file holds now, if any. It ends when the flow
// ends, when the file holds another usable token (a sign-in elsewhere), or
// when abandoned. The caller holds b.signIns.mu.
func (b *Broker) startSignIn(s sso.Session, browser bool, stale sso.Token) *signIn {
	ctx, cancel := context.WithCancel(b.ctx)
	id := make([]byte, 16)
	rand.Read(id) // never fails (crypto/rand)
	g := &signIn{id: hex.EncodeToString(id), session: s, ready: make(chan struct{}), done: make(chan struct{}),
		poke: make(chan struct{}, 1), cancel: cancel}
	key := s.CacheKey()
	b.log.InfoContext(ctx, "signing in to IAM Identity Center for a git process", "session", s.String(), "browser", browser)
	go func() {
		defer cancel()
		flow := make(chan error, 1)
		go func() {
			_, err := b.tokens.Login(ctx, s, sso.LoginOptions{DeviceCode: !browser, Show: func(p sso.Prompt) {
				g.prompt = p
				close(g.ready)
			}})
			flow <- err
		}()
		tick := time.NewTicker(signInPoll)
		defer tick.Stop()
		for {
			select {
			case err := <-flow:
				b.signIns.finish(key, g, err)
				b.logSignIn(ctx, s, err)
				if err == nil && b.keeper != nil {
					b.keeper.Reread()
				}
				return
			case <-tick.C:
			case <-g.poke:
			}
			if tok, err := b.tokens.Load(s); err == nil && tok.AccessToken != stale.AccessToken && time.Until(tok.ExpiresAt) > 0 {
				cancel()
				ferr := <-flow // the flow has stopped before the waiters go on
				b.signIns.finish(key, g, nil)
				if ferr == nil {
					b.logSignIn(ctx, s, nil) // the flow wrote the file just before the poll read it
				} else { // it was cancelled, as a rule: another program signed in
					b.log.DebugContext(ctx, "the sign-in flow stopped", "session", s.String(), "error", ferr.Error())
					b.log.InfoContext(ctx, "signed in to IAM Identity Center elsewhere meanwhile", "session", s.String())
				}
				if b.keeper != nil {
					b.keeper.Reread() // the new token shows in status at once
				}
				return
			}
		}
	}()
	return g
}

func (b *Broker) logSignIn(ctx context.Context, s sso.Session, err error) {
	switch {
	case err == nil:
		b.log.InfoContext(ctx, "signed in to IAM Identity Center", "session", s.String())
	case b.ctx.Err() != nil:
	default:
		b.log.WarnContext(ctx, "the sign-in to IAM Identity Center ended", "session", s.String(), "error", err.Error())
	}
}

// portalRefused returns the access token the portal refused in err
// (UnauthorizedException: revoked at IAM Identity Center, though this
// machine's clock calls it valid), as its session's file holds it now.
func (b *Broker) portalRefused(err error) (token string, ok bool) {
	var e *sso.Error
	if !errors.As(err, &e) || e.Reason != sso.ReasonExpired || e.Code == "" {
		return "", false
	}
	tok, lerr := b.tokens.Load(e.Session)
	if lerr != nil {
		return "", false
	}
	return tok.AccessToken, true
}

// ssoStatus reports the sessions the keeper keeps (used in the last day).
func (b *Broker) ssoStatus() []broker.SSOSessionStatus {
	if b.keeper == nil {
		return nil
	}
	var out []broker.SSOSessionStatus
	for _, st := range b.keeper.Status() {
		if st.Idle {
			continue
		}
		x := broker.SSOSessionStatus{
			Session: st.Session.String(), Name: st.Session.Name, StartURL: st.Session.StartURL, Region: st.Session.Region,
			TokenFile: st.Path, Expires: st.Expires, SessionEnds: st.SessionEnds, Renewable: st.Renewable, NextRefresh: st.NextRefresh,
			LastRefresh: st.LastRefresh, Refreshes: st.Refreshes, LastUsed: st.LastUsed, SigningIn: b.signIns.under(st.Session.CacheKey()),
		}
		if st.Err != nil {
			x.LastError = st.Err.Error()
		}
		out = append(out, x)
	}
	return out
}

// SSOSessionChanged implements broker.Broker.
func (b *Broker) SSOSessionChanged(ctx context.Context, s broker.SSOSession) error {
	if b.keeper != nil {
		b.keeper.Reread()
	}
	b.signIns.poke(sso.Session{Name: s.Name, StartURL: s.StartURL}.CacheKey())
	b.log.InfoContext(ctx, "an SSO token file changed; reading it again", "sso_session", s.Name, "start_url", s.StartURL)
	return nil
}
