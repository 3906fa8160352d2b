// Package transport is the daemon's git transport: a forwarder on
// 127.0.0.1 that takes git's smart-HTTP requests for one repository, signs
// each of them afresh and sends it to the CodeCommit endpoint over a pool of
// warm connections. The signed password never reaches git: git only ever
// holds a capability for the loopback URL.
//
// It owns the capabilities (who may use the forwarder, for what), the
// loopback listener, the upstream connection pools and what git is told when
// something fails. It knows nothing of profiles or credentials: each Grant
// brings a Signer, which the daemon implements with its credential manager.
//
// # Use
//
//	t, err := transport.New(transport.Config{Logger: log})
//	go t.Run(ctx) // serves until ctx ends, then drains (bounded) and closes
//	capability, revoke, err := t.Grant(rpcCtx, transport.Grant{
//		Repository: "my-repo", Host: "git-codecommit.eu-west-1.amazonaws.com",
//		Region: "eu-west-1", Profile: "dev", Signer: signer,
//		Upstream: transport.Upstream{ /* git's settings for the https URL */ },
//	})
//	defer revoke() // also when rpcCtx ends: the helper exited
//	t.Status()     // the listener, the grants, every upstream connection
//
// Grant starts dialing the endpoint at once (TCP, TLS, ALPN), so the
// connection is ready by the time git's first request arrives. The helper
// then runs git's http helper on capability.URL with these settings, scoped
// to that URL and in that process's environment only (never in argv, since
// the URL is on git's command line):
//
//	http.<capability.URL>.extraHeader = <capability.Header>
//	http.<capability.URL>.proxy =        (empty: a user's http_proxy never takes loopback traffic)
//
// # What is forwarded
//
// Only git's smart-HTTP requests for the granted repository: GET
// /v1/repos/<repo>/info/refs?service=git-upload-pack (or git-receive-pack),
// and POST /v1/repos/<repo>/git-upload-pack (or git-receive-pack). Anything
// else, a missing, wrong, revoked, expired or other repository's capability,
// a header block over 16 KiB, or (Linux) a connection from another user is
// answered 4xx with one line, logged once per peer and reason a minute, and
// never forwarded. On Linux the peer's uid is read from /proc/net/tcp and
// /proc/net/tcp6 for the connection's addresses; elsewhere the capability
// (256 random bits, compared in constant time) is what keeps other users out.
//
// Upstream, git's Authorization and Cookie headers and the capability are
// dropped; every request gets the Signer's Authorization, signed for that
// request (and again for a retry), so an operation may last longer than a
// signed password's 15 minutes. Bodies stream both ways: nothing is
// buffered but the first 64 KiB of a POST. Set-Cookie, WWW-Authenticate,
// Location and Alt-Svc never reach git. A redirect is never followed and
// never passed on: git gets one line naming where the endpoint pointed. A
// 401 or 403 becomes one line naming the repository and the profile.
//
// Errors git sees come as an ERR pkt-line in a smart-HTTP answer, which
// git 2.39 prints as "fatal: remote error: codecommitd: …" for info/refs and
// for the POSTs alike; refusals come as 4xx with a text/plain line, which git
// prints as "remote: codecommitd: …".
//
// # Connections
//
// One pool per endpoint, proxy and CA set. Where the endpoint offers HTTP/2
// all requests share one connection (a second is opened only when the
// server's stream limit is reached); over HTTP/1.1 a request without an idle
// connection opens one, up to 32 per pool. A connection is closed after
// Config.IdleTimeout without a request (default 10 minutes); HTTP/2
// connections are health-checked with PINGs meanwhile. A request that was
// sent and got no answer (the server had just closed the connection, or
// sent an HTTP/2 GOAWAY) is sent again on another connection, signed
// afresh, at most 3 times in all, when its body is known whole: GETs, and
// POST bodies of at most 64 KiB (git's negotiation, small pushes). Longer
// POST bodies stream and are not sent again; nor is a request for which no
// connection could be opened.
package transport
