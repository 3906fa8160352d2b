// Package shell runs the commands users write into their configuration
// (credential_process, mfa_process) the way the AWS tools do: with sh -c,
// or cmd.exe /C on Windows. It uses only the standard library: the helpers
// run mfa_process.
package shell

import (
	"context"
	"os/exec"
	"runtime"
)

// Command returns the command that runs line in the system's shell.
func Command(ctx context.Context, line string) *exec.Cmd {
	if runtime.GOOS == "windows" {
		return exec.CommandContext(ctx, "cmd.exe", "/C", line)
	}
	return exec.CommandContext(ctx, "sh", "-c", line)
}
