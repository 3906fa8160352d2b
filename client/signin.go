package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/browser"
	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/wire"
)

// signInSlack is how long past a sign-in's own end a helper goes on
// waiting for its outcome.
const signInSlack = time.Minute

// SignInUI shows a person an IAM Identity Center sign-in the daemon runs
// for a git process: one line on stderr (never git's stdout) and the page
// opened in a browser where one can be opened here.
type SignInUI struct {
	// Stderr receives the line; nil means nowhere.
	Stderr io.Writer
	// Browser decides whether a browser opens here; the zero value means
	// this machine with this process's environment (browser.Here).
	Browser browser.Host
	// Open opens a page; nil means browser.Open.
	Open func(url string) error
}

func (u *SignInUI) canOpen() bool {
	h := u.Browser
	if h.Getenv == nil {
		h = browser.Here(nil)
	}
	return h.CanOpen()
}

// show prints the line for s and opens its page.
func (u *SignInUI) show(s *broker.SignIn, canOpen bool) {
	open := u.Open
	if open == nil {
		open = browser.Open
	}
	page := s.VerificationURLComplete
	if s.AuthorizeURL != "" {
		page = s.AuthorizeURL
	}
	opened := canOpen && page != "" && open(page) == nil
	var line string
	switch {
	case s.AuthorizeURL != "" && opened:
		line = fmt.Sprintf("sign in to IAM Identity Center for %s: your browser opens the sign-in page; if it does not, open %s in a browser on this computer. git goes on once you are signed in", s.Session, s.AuthorizeURL)
	case s.AuthorizeURL != "":
		line = fmt.Sprintf("sign in to IAM Identity Center for %s: open %s in a browser on this computer; git goes on once you are signed in", s.Session, s.AuthorizeURL)
	case opened:
		line = fmt.Sprintf("sign in to IAM Identity Center for %s: your browser opens %s with the code %s filled in; if it does not, open %s on any device and enter the code. git goes on once you are signed in",
			s.Session, s.VerificationURLComplete, s.UserCode, s.VerificationURL)
	default:
		line = fmt.Sprintf("sign in to IAM Identity Center for %s: open %s on any device and enter the code %s (or open %s); git goes on once you are signed in",
			s.Session, s.VerificationURL, s.UserCode, s.VerificationURLComplete)
	}
	if u.Stderr != nil {
		fmt.Fprintln(u.Stderr, clean.Line(line, 4096))
	}
}

// SignWithSSO calls SignWithMFA (each call within wire.SignTimeout) and, while
// the broker answers that the profile's IAM Identity Center session needs
// a sign-in (ErrSSOSignIn), shows that sign-in once when the broker makes
// this caller the one to show it (ui), then calls again, naming it, until
// the sign-in is done: at most its own end plus a minute. Every other
// caller waits, showing nothing. The request says whether a browser opens
// here, so the broker chooses the sign-in's flow (the authorization code
// grant in a browser on this machine, else a device code); a caller that
// gives up (Ctrl-C) while it waits ends the sign-in it shows, so another
// git process may show the next.
func SignWithSSO(ctx context.Context, b broker.Broker, req *broker.SignRequest, prompter *Prompter, ui *SignInUI) (*broker.SignedURL, error) {
	return withSSO(ctx, req, prompter, ui, b.SignURL)
}

// withSSO is SignWithSSO for any call that resolves a request as SignURL
// does (OpenTransport too).
func withSSO[T any](ctx context.Context, req *broker.SignRequest, prompter *Prompter, ui *SignInUI, call func(context.Context, *broker.SignRequest) (T, error)) (T, error) {
	var none T
	r := *req
	if prompter != nil && r.Prompt == broker.PromptUnknown {
		r.Prompt = prompter.Availability()
	}
	canOpen := ui != nil && ui.canOpen()
	r.Browser = canOpen
	for {
		cctx, cancel := context.WithTimeout(ctx, wire.SignTimeout)
		s, err := withMFA(cctx, &r, prompter, call)
		cancel()
		var be *broker.Error
		if !errors.Is(err, broker.ErrSSOSignIn) || !errors.As(err, &be) || be.SignIn == nil {
			return s, err
		}
		in := be.SignIn
		if in.Show && ui != nil && r.SSOSignInShown != in.ID {
			ui.show(in, canOpen)
			r.SSOSignInShown = in.ID
		}
		switch {
		case ctx.Err() != nil:
			return none, ctx.Err()
		case time.Now().After(in.Expires.Add(signInSlack)):
			return none, &broker.Error{Kind: broker.ErrSSOExpired, Profile: be.Profile,
				Msg: fmt.Sprintf("gave up waiting for the sign-in to IAM Identity Center of %s; run the command again", in.Session)}
		}
	}
}
