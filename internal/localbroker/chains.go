package localbroker

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/codecommitd/codecommitd/internal/awsprofile"
)

// maxChains bounds the chains kept; past it they are all dropped (keys hold
// a request's environment credentials, so rotating environments must not
// pile up).
const maxChains = 256

// chains keeps the provider chain of each resolved profile and region,
// built once: the manager's entry of the profile retrieves from it at every
// refresh, and a request that finds no credentials learns from it which MFA
// sessions are needed. They are keyed like the manager's entries, by the
// profile's Key, which changes whenever its configuration does; and by the
// region its STS calls go to (an entry keeps the region of the request that
// made it, as its fetch always has). Reload drops them all.
type chains struct {
	mu sync.Mutex
	m  map[chainKey]*awsprofile.Chain
}

type chainKey struct{ key, region string }

func (c *chains) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}

// chain returns the provider chain of p in region, building it on first
// use. A chain that cannot be built is not kept: the next request tries
// again (the user may have fixed it).
func (b *Broker) chain(ctx context.Context, p *awsprofile.Profile, region string) (*awsprofile.Chain, error) {
	k := chainKey{p.Key, region}
	b.chains.mu.Lock()
	ch := b.chains.m[k]
	b.chains.mu.Unlock()
	if ch != nil {
		return ch, nil
	}
	ch, err := b.resolver.Chain(ctx, p, region, b.mfaCredentials(p))
	if err != nil {
		return nil, err
	}
	b.chains.mu.Lock()
	defer b.chains.mu.Unlock()
	if b.chains.m == nil || len(b.chains.m) >= maxChains {
		b.chains.m = make(map[chainKey]*awsprofile.Chain)
	}
	if built := b.chains.m[k]; built != nil {
		return built, nil // built meanwhile by another request
	}
	b.chains.m[k] = ch
	return ch, nil
}

// mfaCredentials is what the MFA links of p's chain retrieve: the
// credentials the manager holds for the session, else the error that asks
// the client for a code. It never prompts.
func (b *Broker) mfaCredentials(p *awsprofile.Profile) awsprofile.MFACredentials {
	return func(_ context.Context, s *awsprofile.MFASession) (aws.Credentials, error) {
		c, ok := b.manager.Peek(s.Key)
		if !ok {
			return aws.Credentials{}, b.session(p, s).required()
		}
		return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
			CanExpire: !c.Expires.IsZero(), Expires: c.Expires, Source: c.Source}, nil
	}
}

// session is the MFA session s of p's chain, as p's requests ask for it.
func (b *Broker) session(p *awsprofile.Profile, s *awsprofile.MFASession) *mfaSession {
	return &mfaSession{MFASession: s, profile: p.Name, classify: func(err error) error { return b.resolver.Classify(p, err) }}
}
