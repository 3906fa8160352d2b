// Package awsprofile turns a caller's profile name and environment into AWS
// credentials, through aws-sdk-go-v2's shared-config loader and credential
// providers. It owns:
//
//   - which profile, config files, region and endpoint a request means, from
//     the caller's environment rather than the daemon's (Resolve);
//   - the fingerprint of a profile's resolved configuration (the profile, its
//     source chain, the files and the variables that matter), which keys
//     every cache so an edit to ~/.aws/config takes effect on the next
//     request;
//   - the credential provider chain of a profile (Chain), built once and
//     asked afresh at every refresh: the SDK's own chain where it does the
//     job, and our own walk of the source chain where it does not — MFA
//     through GetSessionToken so one code serves many roles (the chain lists
//     the MFA sessions it needs, as data), credential_source = Environment
//     taken from the caller's environment, credential_process with its
//     stderr captured;
//   - turning SDK failures into broker errors a person can act on.
//
// Parsed files are cached by (path, size, mtime, inode), so a request costs
// a few stat calls unless a file changed.
package awsprofile
