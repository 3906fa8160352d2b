package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/codecommitd/codecommitd/internal/awsprofile"
	"github.com/codecommitd/codecommitd/internal/clean"
)

// message says in one line why x's request failed, naming the repository
// (and the profile, where it matters) and what to do.
func (t *Transport) message(ctx context.Context, x *exchange, err error) string {
	g := x.g
	repo := clean.Quote(g.Repository, 100)
	host := clean.Line(g.Host, 100)
	profile := ""
	if g.Profile != "" {
		profile = ", profile " + clean.Quote(g.Profile, 100)
	}
	var (
		sign  *signFailed
		se    *SignError
		redir *redirected
		deny  *denied
		slow  *tooSlow
	)
	switch {
	case errors.As(err, &sign) && errors.As(sign.err, &se):
		return clean.Line(se.Msg, 600)
	case errors.As(err, &sign):
		t.cfg.Logger.WarnContext(ctx, "the signer failed", "repository", g.Repository, "profile", g.Profile, "error", clean.Line(clean.Redact(sign.err.Error()), 300))
		return fmt.Sprintf("codecommitd could not sign the request for repository %s%s; its log says why (codecommitd status shows where it is)", repo, profile)
	case errors.As(err, &redir) && redir.to == nil:
		return fmt.Sprintf("%s answered the request for repository %s with a redirect (HTTP %d) that names no place; codecommitd follows no redirect", host, repo, redir.status)
	case errors.As(err, &redir):
		to := clean.Line(redir.to.Scheme+"://"+redir.to.Host, 200)
		msg := fmt.Sprintf("%s answered the request for repository %s with a redirect (HTTP %d) to %s; codecommitd follows no redirect, since it signs only for the repository's own endpoint",
			host, repo, redir.status, to)
		if redir.to.Host != "" && hostOnly(redir.to.Host) != hostOnly(g.Host) {
			msg += "; if the repository moved there, set CODE_COMMIT_ENDPOINT to " + clean.Line(redir.to.Host, 200)
		}
		return msg
	case errors.As(err, &deny):
		return fmt.Sprintf("%s refused the signed request for repository %s%s (HTTP %d); check that the profile's identity may use the repository "+
			"(codecommit:GitPull, and codecommit:GitPush to push) and that this machine's clock is right (date -u)", host, repo, profile, deny.status)
	case errors.As(err, &slow):
		return fmt.Sprintf("the transfer for repository %s was slower than http.lowSpeedLimit (%s) for http.lowSpeedTime (%s), so codecommitd stopped it, as git would; "+
			"check the network, or raise or unset those settings", repo, slow.limit, slow.time)
	case errors.Is(err, errClosed):
		return "the codecommitd daemon stopped during this git operation; run the command again: the next one works"
	}
	var un *unreachable
	if errors.As(err, &un) {
		err = un.err
	}
	what, fix := awsprofile.NetworkCause(err)
	if fix == "" { // nothing it knows: say what we know, log the rest
		what = "the connection failed"
		if un != nil && un.sent {
			what = "the connection to it broke before an answer came"
		}
		t.cfg.Logger.WarnContext(ctx, "an upstream request failed", "repository", g.Repository, "host", g.Host, "error", clean.Line(clean.Redact(err.Error()), 300))
	}
	return fmt.Sprintf("cannot reach %s for repository %s: %s; check the network, and git's proxy (http.proxy, HTTPS_PROXY, NO_PROXY) and CA (http.sslCAInfo, GIT_SSL_CAINFO) settings for the repository's URL",
		host, repo, clean.Redact(what))
}

// writeGitError answers git's request with msg in a smart-HTTP answer
// git prints, rather than with a status git shows without its body: an
// ERR pkt-line, which git 2.39 prints as "fatal: remote error:
// codecommitd: msg" for info/refs and the POSTs; for a push that asked for
// side-band packets, the ERR pkt-line goes in band 1, where send-pack
// reads its status report and prints it the same way (on band 3 it would
// be a "remote:" line among git's own complaints).
func writeGitError(w http.ResponseWriter, x *exchange, msg string) {
	kind := "result"
	if x.route.advert {
		kind = "advertisement"
	}
	w.Header().Set("Content-Type", "application/x-"+x.route.service+"-"+kind)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	line := "ERR codecommitd: " + clean.Line(msg, 1000) + "\n"
	if x.sideband {
		line = "\x01" + fmt.Sprintf("%04x", len(line)+4) + line
	}
	io.WriteString(w, fmt.Sprintf("%04x", len(line)+4)+line)
}
