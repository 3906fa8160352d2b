// Package shell runs the commands users write into their configuration
// (credential_process, mfa_process) the way the AWS tools do: with sh -c,
// or cmd.exe /C on Windows.
//
// Run also bounds a command. It returns as soon as the command has exited
// and its output is complete (Cmd.Complete), without waiting for what the
// command left running in the background, and before it returns it kills
// everything the command started:
//
//   - Linux: the command runs under a reaper of its own, this same
//     executable started again (it shows in ps as codecommitd-reaper). The
//     reaper makes itself a child subreaper (PR_SET_CHILD_SUBREAPER), so
//     every process the command starts stays among its descendants whatever
//     it does: a new session (setsid), a double fork, an empty environment.
//     At the end of the run (the command's exit, the timeout, a cancelled
//     request, or the end of the process that called Run) the reaper kills
//     and reaps them all, then exits. Each run has its own reaper, so runs
//     under way at the same time never touch each other's processes, and
//     the caller needs no process-wide state (no subreaper of its own, no
//     wait for unknown children). Not caught: processes another program
//     starts on the command's behalf (systemd-run, D-Bus activation, at),
//     which are not its descendants. Where the reaper cannot be started
//     (no /proc), the process group, as below.
//   - Other Unix systems: the command's process group; a process that
//     leaves it (setsid) survives.
//   - Windows: the shell (cmd.exe); what it started keeps running.
//
// Every binary that links this package can be a reaper: the package's init
// takes over a process started as one (see reaper_linux.go). It links
// nothing beyond the standard library and golang.org/x/sys: the helpers run
// mfa_process.
package shell

import "runtime"

// argv is the shell and its arguments that run line.
func argv(line string) (name string, args []string) {
	if runtime.GOOS == "windows" {
		return "cmd.exe", []string{"/C", line}
	}
	return "sh", []string{"-c", line}
}
