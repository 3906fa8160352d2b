// Package sso signs IAM Identity Center (SSO) sessions in and keeps them
// signed in, in the AWS CLI's own files, so that `aws sso login`, the SDKs,
// other tools and codecommitd share one sign-in. It owns:
//
//   - the token files, ~/.aws/sso/cache/<sha1 hex of the sso-session name,
//     or of the start URL for a legacy profile>.json (Session.CacheKey),
//     read and written as the CLI does: {"startUrl", "region",
//     "accessToken", "expiresAt", "clientId", "clientSecret",
//     "registrationExpiresAt", "refreshToken"}, times as RFC 3339 UTC with
//     "Z", fields other tools add kept (Token, ParseToken). A file is read
//     only if it is a regular file of this user's (no symlink followed, no
//     FIFO waited on) of at most 256 KiB, in a folder only this user can
//     write; it is written through a 0600 temporary file in the same
//     folder, synced and renamed over it;
//   - the client registration cache, where the CLI keeps it: the same
//     folder, under the SHA-1 of Python's json.dumps({"tool": "botocore",
//     "startUrl", "region", "scopes", "session_name"}, sort_keys=True),
//     {"clientId", "clientSecret", "expiresAt", "scopes", "grantTypes"}; a
//     registration is used until 15 minutes before it expires, by the flow
//     it was made for, and made anew when refused;
//   - sign-in (Client.Login): the authorization code grant with PKCE (S256)
//     through a listener on 127.0.0.1 only, or the device code grant, with
//     aws-sdk-go-v2's service/ssooidc;
//   - refresh (Client.Refresh) under a lock that every codecommitd process
//     takes (flock on <token file>.codecommitd.lock, waited for at most
//     Config.LockWait), with the file read again inside it and again just
//     before the write, so a token another program (which takes no lock)
//     wrote meanwhile is kept rather than overwritten, and a refresh token
//     another program used first (they are single-use) is no failure;
//   - keeping sessions alive (Keeper): refreshes ahead of expiry for every
//     session used in the last 24 hours, and Status for each;
//   - the reasons an SSO operation fails (Reason, *Error), including the
//     portal's refusals of GetRoleCredentials (ClassifyGetRoleCredentials),
//     in messages of its own that name the session and the fix; no SDK
//     sentence or secret is in any of them.
//
// How the rest uses it: one Client is built from the AWS config
// (awsprofile.NewSSOClient: config.LoadDefaultConfig carries
// AWS_ENDPOINT_URL_SSO_OIDC, proxies and CA bundles into Config.AWS); a
// profile's sso_session (or legacy sso_start_url) becomes a Session.
// `codecommitd login` is Client.Login with LoginOptions from its flags,
// `logout` is Client.Logout; a request takes its token with Client.Fresh;
// a sign-in the daemon runs for a git process is Client.Login with
// LoginOptions.Show; doctor checks a session with Client.Check. The daemon
// runs one Keeper as a Service, calls Keeper.Use each time it resolves an
// SSO profile, and shows Keeper.Status. A caller that meets an *Error
// branches on its Reason; its message is complete as it is. Nothing here
// prompts on its own: only Login prints, to LoginOptions.Out.
//
// What this follows, read in the sources (aws/aws-cli v2 branch, 2.36;
// aws-sdk-go-v2 credentials v1.21): awscli/customizations/sso/utils.py
// (do_sso_login; AuthCodeFetcher: the ten-minute bound, the redirect URI
// without and with the port; _serialize_utc_timestamp), awscli/botocore/
// utils.py (BaseSSOTokenFetcher: _registration_cache_key, _token_cache_key,
// the 15-minute expiry window, client names; SSOTokenFetcher: the device
// registration without grant types, polling at the interval, +5 s on
// SlowDownException; SSOTokenFetcherAuth: the authorization code
// registration and authorize query, state checked, the token it writes;
// JSONFileCache: the CLI writes files in place, not atomically, hence the
// rereads of a file that does not parse), awscli/botocore/tokens.py
// (SSOTokenProvider: the CLI refreshes 15 minutes ahead and needs
// registrationExpiresAt), awscli/customizations/sso/logout.py (logout
// removes every token file), and aws-sdk-go-v2 credentials/ssocreds
// (sso_cached_token.go: the SDK reads accessToken and expiresAt with
// time.RFC3339, keeps unknown fields, writes through a temporary file and a
// rename; sso_token_provider.go: it refreshes only once the token has
// expired, keeping the file's mode).
//
// Where it differs from the CLI: a device code sign-in of an sso-session
// without sso_registration_scopes asks for sso:account:access, so its
// session can be refreshed like a browser sign-in's; the loopback listener
// is bound to 127.0.0.1, not every interface; a callback with another state
// is refused and the sign-in goes on waiting for its own; the registration
// uses the configured start URL as issuer (the CLI since 2.3x resolves
// vanity start URLs first).
package sso
