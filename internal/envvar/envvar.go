// Package envvar declares, once, every environment variable codecommitd
// reads or passes on: its name, what it means, who reads it and where
// README lists it (the table in vars.go). What depends on a variable being
// read by someone is derived from that table, never kept by hand beside
// it: the variables a request carries to the daemon (broker.EnvVars), the
// environment a daemon the helpers start keeps (package client), the
// daemon's environment that status and doctor show, and README's tables
// of environment variables (a test renders them and compares).
//
// The names of codecommitd's own variables (CODECOMMITD_*) are written
// only here; every other package uses the constants.
//
// It uses only the standard library: the helpers link it.
package envvar

import (
	"runtime"
	"strings"
)

// codecommitd's own variables.
const (
	// Socket is the daemon's socket path.
	Socket = "CODECOMMITD_SOCKET"
	// Autostart set to "0" keeps the helpers from starting the daemon.
	Autostart = "CODECOMMITD_AUTOSTART"
	// Bin is the codecommitd binary the helpers start or run one-shot.
	Bin = "CODECOMMITD_BIN"
	// IdleExit is how long a daemon the helpers start runs without a
	// request (a Go duration; 0: until stopped).
	IdleExit = "CODECOMMITD_IDLE_EXIT"
	// ReadyFD is the descriptor on which a daemon the helpers start
	// reports whether it listens (package wire, ReadyReport).
	ReadyFD = "CODECOMMITD_READY_FD"
	// Askpass is a program that prints an MFA code.
	Askpass = "CODECOMMITD_ASKPASS"
	// PasswordInArgv set to "1" puts the password on git's command line
	// (git older than 2.31 only).
	PasswordInArgv = "CODECOMMITD_PASSWORD_IN_ARGV"
	// Keyring set to "0" keeps the daemon away from the OS keyring.
	Keyring = "CODECOMMITD_KEYRING"
	// Reaper marks a process package shell started as a reaper.
	Reaper = "CODECOMMITD_REAPER"
	// Transport chooses how git-remote-codecommit hands git the
	// repository: "daemon" (or unset) through the daemon's git
	// transport when a daemon answers, "direct" with a signed password.
	Transport = "CODECOMMITD_TRANSPORT"
)

// Reader is a set of the parts that read a variable, or pass it on.
type Reader uint8

// Readers.
const (
	// Request: the helpers send the caller's value with each request
	// (broker.SignRequest.Env), and the daemon resolves with it.
	Request Reader = 1 << iota
	// Helper: the helpers read it themselves.
	Helper
	// Daemon: the daemon reads it from its own environment (directly, or
	// through the AWS SDK, Go or the keyring).
	Daemon
	// Kept: a daemon the helpers start keeps it from git's environment
	// (everything else stays with git).
	Kept
	// Shown: status and doctor show the daemon's value, URLs redacted.
	Shown
	// GitHTTP: git-remote-codecommit sends the caller's value with a
	// request for the git transport, as one of git's settings for its
	// connection (broker.TransportRequest.GitEnv).
	GitHTTP
)

// Section is where README's "Environment variables" lists a variable.
type Section uint8

// Sections, in README's order.
const (
	// InRequest: read by the helpers and passed to the daemon with each
	// request.
	InRequest Section = iota + 1
	// InHelpers: read by the helpers themselves.
	InHelpers
	// InDaemon: read by the daemon, from its own environment.
	InDaemon
	// InKept: not read by codecommitd, but kept by a daemon the helpers
	// start, for the programs it runs.
	InKept
)

// Var is one environment variable, or a family of them: a Name that ends
// in "*" stands for every name that starts with what comes before it.
type Var struct {
	Name string
	// Meaning is what it does, as README says it (Markdown). Variables
	// next to each other in the table with the same Meaning and Section
	// share a row there.
	Meaning string
	Readers Reader
	Section Section
	// Path reports a Request variable that names a file: the helpers make
	// a relative path absolute, since the daemon runs elsewhere.
	Path bool
	// AnyCase reports a name also read in lower case (the proxy
	// variables, as Go reads them).
	AnyCase bool
	// Windows reports a variable only Windows sets.
	Windows bool
}

// ReadBy reports whether all of r read v.
func (v Var) ReadBy(r Reader) bool { return v.Readers&r == r }

// matches reports whether the variable name is v (or of v's family).
func (v Var) matches(name string) bool {
	if runtime.GOOS == "windows" || v.AnyCase {
		name = strings.ToUpper(name)
	}
	if prefix, family := strings.CutSuffix(v.Name, "*"); family {
		return strings.HasPrefix(name, prefix)
	}
	return name == v.Name
}

// Lookup returns the declaration of the variable name, or false when
// codecommitd has none for it.
func Lookup(name string) (Var, bool) {
	for _, v := range All {
		if v.matches(name) {
			return v, true
		}
	}
	return Var{}, false
}

// Names returns the names of the variables all of r read, in the table's
// order (families as their pattern, "LC_*").
func Names(r Reader) []string {
	var out []string
	for _, v := range All {
		if v.ReadBy(r) {
			out = append(out, v.Name)
		}
	}
	return out
}

// Filter returns the entries of environ ("NAME=value", as os.Environ gives
// them) whose variables all of r read, in environ's order.
func Filter(environ []string, r Reader) []string {
	out := make([]string, 0, 24)
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if v, ok := Lookup(name); ok && v.ReadBy(r) {
			out = append(out, kv)
		}
	}
	return out
}

// Values returns Filter's entries as a map, each value passed through
// shown(name, value) first (which redacts what must not be shown).
func Values(environ []string, r Reader, shown func(name, value string) string) map[string]string {
	out := map[string]string{}
	for _, kv := range Filter(environ, r) {
		name, value, _ := strings.Cut(kv, "=")
		out[name] = shown(name, value)
	}
	return out
}
