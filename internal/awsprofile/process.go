package awsprofile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
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
	// Err is the cause (a timeout, an exit status), for errors.Is.
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

// secretWords mark stderr lines that may hold a credential.
var secretWords = []string{"secret", "token", "password", "accesskey", "access_key", "credential"}

// safeStderr keeps the lines of stderr that name no credential, with
// anything that looks like one redacted, on one line, at most 300 bytes.
func safeStderr(stderr string) string {
	var keep []string
	for _, line := range strings.Split(stderr, "\n") {
		lower := strings.ToLower(line)
		secret := false
		for _, w := range secretWords {
			if strings.Contains(lower, w) && (strings.Contains(lower, "=") || strings.Contains(lower, ":")) {
				secret = true
			}
		}
		if !secret && strings.TrimSpace(line) != "" {
			keep = append(keep, strings.TrimSpace(line))
		}
	}
	return clean.Line(clean.Redact(strings.Join(keep, " / ")), 300)
}

// processProvider runs a credential_process: through the shell, in the
// daemon's environment, with no stdin, in a process group of its own that
// is killed whole when it runs past its timeout, its stdout capped.
type processProvider struct {
	command, profile string
	timeout          time.Duration
}

func (p *processProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	cmd := shell.Command(ctx, p.command)
	shell.OwnGroup(cmd)
	stdout := &shell.LimitedBuffer{Max: MaxProcessOutput, OnOverflow: cancel}
	stderr := &shell.LimitedBuffer{Max: maxProcessStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	runErr := cmd.Run()
	fail := func(reason string, cause error) (aws.Credentials, error) {
		program, _, _ := strings.Cut(strings.TrimSpace(p.command), " ")
		return aws.Credentials{}, &ProcessError{Profile: p.profile, Program: clean.Line(program, 100), Reason: reason,
			Stderr: safeStderr(string(stderr.Bytes())), Err: cause}
	}
	var exitErr *exec.ExitError
	switch {
	case stdout.Overflowed():
		return fail(fmt.Sprintf("it printed more than %d KiB, and credentials are a few hundred bytes of JSON; it was stopped", MaxProcessOutput>>10), nil)
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fail(fmt.Sprintf("it did not finish within %s, so it was stopped (set credential_process_timeout in the profile for a longer limit)", p.timeout), ctx.Err())
	case ctx.Err() != nil:
		return fail("it was stopped because the request was abandoned", ctx.Err())
	case errors.As(runErr, &exitErr):
		return fail(fmt.Sprintf("exit status %d", exitErr.ExitCode()), runErr)
	case errors.Is(runErr, exec.ErrNotFound):
		return fail("the shell to run it was not found", runErr)
	case runErr != nil:
		return fail("it could not be run", runErr)
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
