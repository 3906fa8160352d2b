// Package fakests is an in-memory stand-in for AWS STS (and, for tests of
// SSO profiles, the SSO portal) that speaks the real wire protocols: STS's
// form-encoded query protocol with XML answers, and SSO's REST/JSON API.
//
// It keeps its own little IAM: long-term users, roles that may demand MFA,
// web-identity tokens, MFA devices and every credential it has issued, and it
// checks the SigV4 signature of every request against the secret of the key
// that signed it, so a test learns which identity made each call. The
// CodeCommit git server of package gitserver looks issued credentials up here.
//
// It is test infrastructure shipped in the module so the end-to-end tests and
// `make demo` share it; nothing in the shipped binaries imports it.
package fakests
