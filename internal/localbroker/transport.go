package localbroker

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"os"

	"github.com/codecommitd/codecommitd/internal/awsprofile"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/codecommit"
	"github.com/codecommitd/codecommitd/internal/transport"
)

var _ broker.Transporter = (*Broker)(nil)

// OpenTransport implements broker.Transporter: it resolves req exactly as
// SignURL does (the same errors, the same MFA gate), then grants a
// capability of the git transport for the repository, with git's settings
// for its https URL, signed by a grantSigner. The capability ends with
// ctx (the helper's stream), or with Release.
func (b *Broker) OpenTransport(ctx context.Context, req *broker.TransportRequest) (*broker.Capability, error) {
	if b.transport == nil {
		return nil, broker.Errorf(broker.ErrInvalidRequest, req.Profile, "this codecommitd runs no git transport")
	}
	r, err := b.resolve(ctx, &req.SignRequest)
	if err != nil {
		return nil, err
	}
	path := codecommit.RepositoryPath(req.Repository)
	entries := make([]transport.ConfigEntry, len(req.GitConfig))
	for i, e := range req.GitConfig {
		entries[i] = transport.ConfigEntry(e)
	}
	up, err := transport.GitSettings("https://"+r.host+path, entries, req.GitEnv, req.Env["HOME"], readCAFile)
	if err == nil {
		var c transport.Capability
		var revoke func()
		c, revoke, err = b.transport.Grant(ctx, transport.Grant{
			Repository: req.Repository, Host: r.host, Region: r.region, Profile: r.p.Name,
			Signer: &grantSigner{b: b, p: r.p, region: r.region}, Upstream: up,
		})
		if err == nil {
			return &broker.Capability{URL: c.URL, Header: c.Header, Profile: r.p.Name, Region: r.region, Warnings: r.warnings, Release: revoke}, nil
		}
	}
	var se *transport.SettingError
	if errors.As(err, &se) {
		return nil, broker.Errorf(broker.ErrInvalidRequest, r.p.Name, "%s", se.Msg)
	}
	return nil, broker.Errorf(broker.ErrSourceFailed, r.p.Name, "the git transport could not grant repository %s: %s", req.Repository, clean.Line(err.Error(), 300))
}

// readCAFile reads a CA file git's settings name, at most
// transport.MaxCAFile bytes and one more (so a larger one is told apart).
func readCAFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, transport.MaxCAFile+1))
}

// grantSigner signs the requests of one grant with the credentials the
// manager holds for its profile, fresh for each request: a look-up and an
// HMAC. It never prompts: a failure is one line for git.
type grantSigner struct {
	b      *Broker
	p      *awsprofile.Profile
	region string
}

func (s *grantSigner) Sign(ctx context.Context, host, path string) (string, error) {
	// The credentials held, without counting a request (the helper's
	// counted); else as a request gets them (refreshed, or the reason).
	creds, ok := s.b.manager.Peek(s.p.Key)
	var err error
	if !ok {
		creds, err = s.b.credentials(ctx, s.p, s.region, false, mfaAsk{canPrompt: false}, signInAsk{})
	}
	if err != nil {
		var be *broker.Error
		if errors.As(err, &be) {
			return "", &transport.SignError{Msg: clean.Line(be.Msg, 600), Err: err}
		}
		return "", err
	}
	signed := s.b.signer.Sign(creds, s.region, host, path, s.b.now())
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(signed.Username+":"+signed.Password)), nil
}

// transportStatus reports the git transport, or nil when none runs.
func (b *Broker) transportStatus() *broker.TransportStatus {
	if b.transport == nil {
		return nil
	}
	st := b.transport.Status()
	out := &broker.TransportStatus{URL: st.URL, Grants: st.Grants}
	for _, c := range st.Conns {
		out.Conns = append(out.Conns, broker.TransportConn{Host: c.Host, Proxy: c.Proxy, Protocol: c.Protocol,
			Opened: c.Opened, LastUsed: c.LastUsed, InFlight: c.InFlight, Requests: c.Requests})
	}
	return out
}
