package awsprofile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"

	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/shell"
)

// Limits of one credential_process run.
const (
	// DefaultProcessTimeout is how long a credential_process may run when
	// the profile sets no credential_process_timeout.
	DefaultProcessTimeout = time.Minute
	// MaxProcessOutput bounds what is read of its stdout: credentials are a
	// few kilobytes of JSON.
	MaxProcessOutput = 64 << 10
	// maxProcessStderr bounds what is kept of its stderr.
	maxProcessStderr = 16 << 10
)

// ProcessError reports a credential_process that failed. It carries no
// byte of the process's output (which holds credentials) and only those
// parts of its stderr that name and look like no credential.
type ProcessError struct {
	Profile string
	// Program is the first word of the command, which is safe to show.
	Program string
	// Reason says what went wrong, in our words.
	Reason string
	// Stderr is the process's stderr, filtered by safeStderr.
	Stderr string
	// Err is the cause (the timeout, the abandoned request, why it could
	// not be run), for errors.Is.
	Err error
}

func (e *ProcessError) Error() string {
	msg := fmt.Sprintf("credential_process of profile %s failed: %s", e.Profile, e.Reason)
	if e.Stderr != "" {
		msg += "; it said: " + e.Stderr
	}
	return msg
}

func (e *ProcessError) Unwrap() error { return e.Err }

// secretKey matches a key that names a credential, where a line gives it a
// value: the word (secret, token, password, access key, credential) inside
// a name that a ':' or '=' follows, as in aws_secret_access_key=…,
// "SessionToken": "…", token: … or export AWS_SESSION_TOKEN=…. A line that
// only mentions one ("permission denied for path secret/aws", "the token
// has expired") has none.
var secretKey = regexp.MustCompile(`(?i)[a-z0-9_.-]*(secret|token|passw(or)?d|access_?key|credential)[a-z0-9_.-]*["']?\s*[:=]`)

// safeStderr keeps the lines of stderr that give no credential a value,
// with anything that looks like one redacted, on one line, at most 300
// bytes.
func safeStderr(stderr string) string {
	var keep []string
	for _, line := range strings.Split(stderr, "\n") {
		if line = strings.TrimSpace(line); line != "" && !secretKey.MatchString(line) {
			keep = append(keep, line)
		}
	}
	return clean.Line(clean.Redact(strings.Join(keep, " / ")), 300)
}

// processProvider runs a credential_process: through the shell, in the
// daemon's environment, with no stdin, its stdout capped, bounded by its
// timeout, and with everything it started killed when it ends (package
// shell says what that covers on each system).
type processProvider struct {
	command, profile string
	timeout          time.Duration
}

func (p *processProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	stdout := &shell.LimitedBuffer{Max: MaxProcessOutput, OnOverflow: cancel}
	stderr := &shell.LimitedBuffer{Max: maxProcessStderr}
	res := shell.Run(ctx, shell.Cmd{Line: p.command, Stdout: stdout, Stderr: stderr, Complete: completeJSON})
	fail := func(reason string, cause error) (aws.Credentials, error) {
		program, _, _ := strings.Cut(strings.TrimSpace(p.command), " ")
		return aws.Credentials{}, &ProcessError{Profile: p.profile, Program: clean.Line(program, 100), Reason: reason,
			Stderr: safeStderr(string(stderr.Bytes())), Err: cause}
	}
	switch {
	case stdout.Overflowed():
		return fail(fmt.Sprintf("it printed more than %d KiB, and credentials are a few hundred bytes of JSON; it was stopped", MaxProcessOutput>>10), nil)
	case errors.Is(res.Err, context.DeadlineExceeded):
		return fail(fmt.Sprintf("it did not finish within %s, so it was stopped (set credential_process_timeout in the profile for a longer limit)", p.timeout), res.Err)
	case errors.Is(res.Err, context.Canceled):
		return fail("it was stopped because the request was abandoned", res.Err)
	case errors.Is(res.Err, exec.ErrNotFound):
		return fail("the shell to run it was not found", res.Err)
	case res.Err != nil:
		return fail("it could not be run", res.Err)
	case res.Signal != 0:
		return fail(fmt.Sprintf("it was ended by signal %d (%s)", int(res.Signal), res.Signal), nil)
	case res.ExitCode != 0:
		return fail(fmt.Sprintf("exit status %d", res.ExitCode), nil)
	case res.HeldOpen:
		return fail(fmt.Sprintf("it exited with status 0 before its JSON was complete, and %s later a process it started still held its output open; "+
			"it was stopped with everything it started (print the whole JSON before exiting; start background programs with >/dev/null 2>&1)", shell.DefaultGrace), nil)
	}
	var out processcreds.CredentialProcessResponse
	dec := json.NewDecoder(bytes.NewReader(stdout.Bytes()))
	if err := dec.Decode(&out); err != nil || out.Version != 1 || out.AccessKeyID == "" || out.SecretAccessKey == "" {
		// The decoder's error may quote the output: it is not kept.
		return fail("its output is not the credential_process JSON (Version 1, AccessKeyId, SecretAccessKey, optional SessionToken and RFC 3339 Expiration)", nil)
	}
	c := aws.Credentials{AccessKeyID: out.AccessKeyID, SecretAccessKey: out.SecretAccessKey, SessionToken: out.SessionToken,
		Source: "ProcessProvider", AccountID: out.AccountID}
	if out.Expiration != nil {
		c.CanExpire, c.Expires = true, *out.Expiration
	}
	return c, nil
}

// completeJSON reports whether out starts with a whole JSON value, or with
// bytes no continuation makes one: either way, nothing a process the
// credential_process left behind could still print changes the outcome.
func completeJSON(out []byte) bool {
	err := json.NewDecoder(bytes.NewReader(out)).Decode(new(json.RawMessage))
	return !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF)
}
