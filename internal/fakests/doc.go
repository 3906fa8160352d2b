// Package fakests is an in-memory stand-in for AWS STS and, for tests of
// SSO profiles and sign-ins, IAM Identity Center, speaking the real wire
// protocols: STS's form-encoded query protocol with XML answers, and the
// REST/JSON APIs of the SSO portal and SSO OIDC.
//
// It serves, on one base URL (for AWS_ENDPOINT_URL_STS, _SSO and _SSO_OIDC):
//   - STS: AssumeRole, AssumeRoleWithWebIdentity, GetSessionToken,
//     GetCallerIdentity;
//   - the SSO portal: GetRoleCredentials, ListAccounts, ListAccountRoles and
//     Logout, for an access token's user and only the accounts and roles
//     assigned to them (ForbiddenException "No access" otherwise);
//   - SSO OIDC: RegisterClient, StartDeviceAuthorization and CreateToken with
//     the authorization code (PKCE, S256), device code and refresh token
//     grants, with the service's errors (AuthorizationPendingException,
//     SlowDownException, InvalidGrantException, …); refresh tokens are
//     single-use, issued to clients registered for them or, as the AWS CLI
//     registers for an sso-session's device code login, with scopes;
//   - the pages a person signs in at: /authorize (an "Allow" and a "Deny"
//     button, then a redirect to the client's loopback listener) and the
//     device page of verificationUriComplete; ApproveDevice and DenyDevice
//     answer a device sign-in without a browser;
//   - EC2 instance metadata (IMDSv2), ECS container credentials, and the
//     sign-in service's refresh (which it always refuses).
//
// It keeps its own little IAM: long-term users, roles that may demand MFA,
// web-identity tokens, MFA devices and every credential it has issued, and it
// checks the SigV4 signature of every request against the secret of the key
// that signed it, so a test learns which identity made each call. The
// CodeCommit git server of package gitserver looks issued credentials up here.
// Knobs set its clock, latency, faults and lifetimes (of credentials, SSO
// access tokens, sessions and client registrations); counters tell how many
// calls of each action (and of each CreateToken grant) it answered.
//
// New serves it on a loopback port; NewInMemory serves it without a
// network, through a Transport that calls the handler in the caller's
// goroutine, for tests on a testing/synctest bubble's clock.
//
// It is test infrastructure shipped in the module so the end-to-end tests and
// `make demo` share it; nothing in the shipped binaries imports it.
package fakests
