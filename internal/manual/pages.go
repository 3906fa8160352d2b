package manual

import "github.com/codecommitd/codecommitd/internal/envvar"

// requestEnv are the variables both helpers read and send to the daemon
// with each request: the daemon does not share git's environment.
var requestEnv = []Item{
	{"AWS_PROFILE", "The profile when nothing above names one; else default."},
	{"AWS_REGION, AWS_DEFAULT_REGION", "The region when the URL names none, before the profile's region."},
	{"AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE", "The AWS config and credentials files (default ~/.aws/config and ~/.aws/credentials)."},
	{"AWS_USE_FIPS_ENDPOINT", "true: use the FIPS git endpoint (git-codecommit-fips.<region>.amazonaws.com)."},
	{"CODE_COMMIT_ENDPOINT", "The git endpoint host[:port], overriding the region's (VPC endpoints)."},
	{"AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN", "Credentials from the environment: used when no profile is named, and for credential_source = Environment."},
	{"AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN, AWS_ROLE_SESSION_NAME", "Web identity from the environment, under the same rule."},
	{"HOME", "Where ~/.aws is."},
}

// clientEnv are the variables both helpers read for themselves.
var clientEnv = []Item{
	{envvar.Socket, "The daemon's socket (default: codecommitd.sock in $XDG_RUNTIME_DIR/codecommitd, else /run/user/<uid>/codecommitd, else codecommitd-<uid> in the temp folder)."},
	{envvar.Autostart, "0: never start the daemon; resolve in a codecommitd oneshot child when it is not running."},
	{envvar.Bin, "The codecommitd binary to start (default: next to the helper, then on PATH)."},
	{envvar.IdleExit, "How long a daemon the helper starts runs without a request (a Go duration such as 30m; 0: never; default 8h)."},
	{envvar.Askpass, "A program that prints an MFA code; it gets the prompt as its argument."},
	{"GIT_ASKPASS, SSH_ASKPASS", "Used for the MFA prompt when " + envvar.Askpass + " is not set (IDEs set these)."},
	{"GIT_TERMINAL_PROMPT", "0: never ask for an MFA code on the terminal."},
	{"XDG_CACHE_HOME", "Where git's version is remembered (~/.cache/codecommitd), so git version does not run on every call."},
}

// RemoteHelper is git-remote-codecommit's manual.
var RemoteHelper = Page{
	Name:    "git-remote-codecommit",
	Summary: "the git remote helper for AWS CodeCommit, backed by codecommitd",
	Synopsis: []string{
		"git-remote-codecommit <remote-name> <url>",
		"git-remote-codecommit --version | --help",
	},
	Description: []string{
		"git runs it for codecommit:// remotes (git clone codecommit://my-profile@my-repo); people do not run it themselves.",
		"It asks the codecommitd daemon for a signed password (starting the daemon when it is not running, and resolving in a codecommitd oneshot child when it cannot be started), then runs git's https helper (git-remote-https, from the exec path git gives it) with the repository URL without credentials, and the password in that one process's environment as an Authorization header scoped to the repository URL: never on a command line, in a file or in git's traces, and never handed to a credential-storage helper.",
	},
	Sections: []Section{{
		Title: "URL forms",
		Items: []Item{
			{"codecommit://<repository>", "Profile from AWS_PROFILE, else default; the region from AWS_REGION, AWS_DEFAULT_REGION or the profile."},
			{"codecommit://<profile>@<repository>", "That profile."},
			{"codecommit::<region>://<repository>", "That region."},
			{"codecommit::<region>://<profile>@<repository>", "That region and profile."},
		},
	}},
	Environment: [][]Item{requestEnv, clientEnv, {
		{envvar.PasswordInArgv, "1: put the password in git remote-http's command line, as AWS's helper does; only for git older than 2.31, and visible in ps."},
		{"GIT_SSL_CAINFO, HTTPS_PROXY, NO_PROXY", "The CA file and proxy of the one request the helper makes itself, after git failed, to say where a redirect points."},
	}},
	Exit: []Item{
		{"0", "git's https helper succeeded."},
		{"1", "The helper could not run it (a malformed URL, no credentials, git too old): the reason is on stderr, in one line."},
		{"other", "The exit status of git's https helper, which has said why."},
	},
	SeeAlso: []string{"codecommitd(1)", "git-credential-codecommit(1)", "gitremote-helpers(7)"},
}

// CredentialHelper is git-credential-codecommit's manual.
var CredentialHelper = Page{
	Name:    "git-credential-codecommit",
	Summary: "a git credential helper for AWS CodeCommit https:// URLs, backed by codecommitd",
	Synopsis: []string{
		"git-credential-codecommit [--profile NAME] [--region REGION] get|store|erase",
		"git-credential-codecommit --version | --help",
	},
	Description: []string{
		"git runs it as a credential helper (git credential-codecommit get) for plain https://git-codecommit.<region>.amazonaws.com/v1/repos/<repository> URLs: IDEs, submodules, package managers. For a CodeCommit host it answers with a password the codecommitd daemon signs, and password_expiry_utc, so git 2.41 and later never reuse an expired one; for any other host it prints nothing, so git asks its next helper. store and erase do nothing: a signed password is never worth keeping.",
		"The profile is --profile, else git config codecommit.profile (URL-scoped as credential.<url>.* is), else AWS_PROFILE, else default; the region is --region, else the host's.",
	},
	Sections: []Section{{
		Title: "Configuration",
		Text:  []string{"Configure it for CodeCommit hosts only; the empty helper drops the helpers configured before it, so none of them stores the short-lived passwords, and CodeCommit signs per repository, so git must send the path:"},
		Verbatim: []string{
			"git config --global credential.https://git-codecommit.eu-west-1.amazonaws.com.helper ''",
			"git config --global --add credential.https://git-codecommit.eu-west-1.amazonaws.com.helper codecommit",
			"git config --global credential.https://git-codecommit.eu-west-1.amazonaws.com.useHttpPath true",
			"git config --global codecommit.https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/app.profile dev",
		},
	}},
	Environment: [][]Item{requestEnv, clientEnv},
	Exit: []Item{
		{"0", "It answered, or the host is not CodeCommit's and it said nothing."},
		{"1", "It could not answer (no repository path, no credentials, a malformed CODE_COMMIT_ENDPOINT): the reason is on stderr, in one line, and git asks its next helper."},
	},
	SeeAlso: []string{"codecommitd(1)", "git-remote-codecommit(1)", "gitcredentials(7)"},
}
