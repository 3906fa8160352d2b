package envvar

// Meanings shared by the variables of one README row.
const (
	regionMeaning      = "region when the URL names none (before the profile's)"
	filesMeaning       = "the AWS config and credentials files"
	envKeysMeaning     = "environment credentials: used when no profile is named (neither in the URL nor `AWS_PROFILE`), as the AWS CLI does; and for `credential_source = Environment`"
	webIdentityMeaning = "web identity from the environment (EKS, GitHub Actions), under the same rule"
	askpassMeaning     = "used for the MFA prompt when `" + Askpass + "` is not set (IDEs set these)"
	trustMeaning       = "TLS trust for AWS calls"
	proxyMeaning       = "proxy settings for AWS calls (as Go reads them: `user:password@host:port` without a scheme means `http://`; a `#`, `/` or `?` in the user or password must be percent-encoded; loopback addresses never go through the proxy); `status` and `doctor` show these with the user and password redacted. The helpers read `HTTPS_PROXY` and `NO_PROXY` too, for the one request they make themselves (see Redirects), and `git-remote-codecommit` sends them (and `AWS_CA_BUNDLE`) to the git transport with git's settings, as git would use them for the repository (see The git transport)"
	sdkMeaning         = "as for the AWS SDK (at most 2 attempts are made whatever they say; see How it works)"
	metadataMeaning    = "instance and container credentials"
	foldersMeaning     = "where the socket and the log of an autostarted daemon go"
	sessionMeaning     = "the login session, for the programs the daemon runs (`credential_process`)"
	localeMeaning      = "the locale, likewise"
	xdgMeaning         = "the user's other folders, likewise"
	windowsMeaning     = "(Windows) what a process needs to start and to find the user's profile"
	browserMeaning     = "whether an IAM Identity Center sign-in (`codecommitd login`, or one a git command shows) opens a browser here: not in an SSH session on macOS, elsewhere only where a display is set and `xdg-open` is installed; else it signs in with a device code, entered on any device"
	traceMeaning       = "git's, set or dropped by the helper in git's http helper's environment whatever yours says: `GIT_TRACE_REDACT=1`, and no `GIT_TRACE2_CONFIG_PARAMS` or `GIT_TRACE2_ENV_VARS`, so that no trace of git's shows the password (see How the password reaches git)"
	gitHTTPMeaning     = "git's own, over `http.sslVerify`, `http.lowSpeedLimit`, `http.lowSpeedTime`, `http.userAgent`: sent to the daemon's git transport with git's other settings for the repository (see The git transport)"
)

// All is every variable codecommitd reads or passes on, in README's order.
var All = []Var{
	// Read by the helpers and sent with each request.
	{Name: "AWS_PROFILE", Meaning: "profile when the URL names none (else `default`)", Readers: Request, Section: InRequest},
	{Name: "AWS_REGION", Meaning: regionMeaning, Readers: Request, Section: InRequest},
	{Name: "AWS_DEFAULT_REGION", Meaning: regionMeaning, Readers: Request, Section: InRequest},
	{Name: "AWS_CONFIG_FILE", Meaning: filesMeaning, Readers: Request, Section: InRequest, Path: true},
	{Name: "AWS_SHARED_CREDENTIALS_FILE", Meaning: filesMeaning, Readers: Request, Section: InRequest, Path: true},
	{Name: "AWS_USE_FIPS_ENDPOINT", Meaning: "`true`: use the FIPS git endpoint", Readers: Request, Section: InRequest},
	{Name: "CODE_COMMIT_ENDPOINT", Meaning: "git endpoint `host[:port]`, overriding the region's (VPC endpoints, tests): a host name, an IPv4 address or a bracketed IPv6 address, and a port from 1 to 65535 without leading zeros; no scheme, user or path",
		Readers: Request | Helper, Section: InRequest},
	{Name: "AWS_ACCESS_KEY_ID", Meaning: envKeysMeaning, Readers: Request, Section: InRequest},
	{Name: "AWS_SECRET_ACCESS_KEY", Meaning: envKeysMeaning, Readers: Request, Section: InRequest},
	{Name: "AWS_SESSION_TOKEN", Meaning: envKeysMeaning, Readers: Request, Section: InRequest},
	{Name: "AWS_WEB_IDENTITY_TOKEN_FILE", Meaning: webIdentityMeaning, Readers: Request, Section: InRequest, Path: true},
	{Name: "AWS_ROLE_ARN", Meaning: webIdentityMeaning, Readers: Request, Section: InRequest},
	{Name: "AWS_ROLE_SESSION_NAME", Meaning: webIdentityMeaning, Readers: Request, Section: InRequest},
	{Name: "HOME", Meaning: "where `~/.aws` is", Readers: Request | Daemon | Kept | Shown, Section: InRequest},

	// Read by the helpers themselves.
	{Name: Socket, Meaning: "the daemon's socket (default below)", Readers: Helper | Daemon, Section: InHelpers},
	{Name: Autostart, Meaning: "`0`: never start the daemon; resolve in-process when it is not running", Readers: Helper, Section: InHelpers},
	{Name: Bin, Meaning: "the `codecommitd` binary to start (default: next to the helper, then `PATH`)", Readers: Helper, Section: InHelpers},
	{Name: IdleExit, Meaning: "how long a daemon the helper starts runs without a request before it stops (Go duration, `0`: never; default `8h`)", Readers: Helper, Section: InHelpers},
	{Name: ReadyFD, Meaning: "set by the helper for the daemon it starts (the descriptor on which that daemon says whether it listens); not for people", Readers: Daemon, Section: InHelpers},
	{Name: "GIT_TERMINAL_PROMPT", Meaning: "`0`: never ask for an MFA code on the terminal (as git does for passwords)", Readers: Helper, Section: InHelpers},
	{Name: "XDG_CACHE_HOME", Meaning: "where the helper caches git's version (`~/.cache/codecommitd`, used only if it is a private folder of yours), so it does not run `git version` every call", Readers: Helper | Kept, Section: InHelpers},
	{Name: Askpass, Meaning: "program that prints an MFA code; gets the prompt as its argument", Readers: Helper, Section: InHelpers},
	{Name: "GIT_ASKPASS", Meaning: askpassMeaning, Readers: Helper, Section: InHelpers},
	{Name: "SSH_ASKPASS", Meaning: askpassMeaning, Readers: Helper, Section: InHelpers},
	{Name: PasswordInArgv, Meaning: "`1`: put the password in `git remote-http`'s command line as AWS's helper does (only for git < 2.31; visible in `ps`)", Readers: Helper, Section: InHelpers},
	{Name: "GIT_EXEC_PATH", Meaning: "where git keeps its programs (git sets it for the helpers it runs): the helper runs git's https helper from there", Readers: Helper, Section: InHelpers},
	{Name: "GIT_CONFIG_PARAMETERS", Meaning: "the settings of `git -c`, to which the helper appends its own for git's https helper (see How the password reaches git)", Readers: Helper, Section: InHelpers},
	{Name: "SSH_CONNECTION", Meaning: browserMeaning, Readers: Helper | Daemon, Section: InHelpers},
	{Name: "SSH_TTY", Meaning: browserMeaning, Readers: Helper | Daemon, Section: InHelpers},
	{Name: "DISPLAY", Meaning: browserMeaning, Readers: Helper | Daemon, Section: InHelpers},
	{Name: "WAYLAND_DISPLAY", Meaning: browserMeaning, Readers: Helper | Daemon, Section: InHelpers},
	{Name: "GIT_TRACE_REDACT", Meaning: traceMeaning, Readers: Helper, Section: InHelpers},
	{Name: "GIT_TRACE2_CONFIG_PARAMS", Meaning: traceMeaning, Readers: Helper, Section: InHelpers},
	{Name: "GIT_TRACE2_ENV_VARS", Meaning: traceMeaning, Readers: Helper, Section: InHelpers},
	{Name: Transport, Meaning: "`direct`: hand git a signed password (see How the password reaches git) instead of the daemon's git transport; unset or `daemon`: the transport when a daemon answers (see The git transport)", Readers: Helper, Section: InHelpers},
	{Name: "GIT_SSL_CAINFO", Meaning: "the CA file git trusts (over `http.sslCAInfo`): sent to the daemon's git transport with git's other settings, and used for the one request the helper makes itself, after git failed, to say where a redirect points (see Redirects)", Readers: Helper | GitHTTP, Section: InHelpers},
	{Name: "GIT_SSL_NO_VERIFY", Meaning: gitHTTPMeaning, Readers: GitHTTP, Section: InHelpers},
	{Name: "GIT_HTTP_LOW_SPEED_LIMIT", Meaning: gitHTTPMeaning, Readers: GitHTTP, Section: InHelpers},
	{Name: "GIT_HTTP_LOW_SPEED_TIME", Meaning: gitHTTPMeaning, Readers: GitHTTP, Section: InHelpers},
	{Name: "GIT_HTTP_USER_AGENT", Meaning: gitHTTPMeaning, Readers: GitHTTP, Section: InHelpers},

	// Read by the daemon, from its own environment.
	{Name: "AWS_ENDPOINT_URL*", Meaning: "STS/SSO endpoints (tests, private endpoints): `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL_SSO`, `AWS_ENDPOINT_URL_SSO_OIDC`, or `AWS_ENDPOINT_URL` for every service", Readers: Daemon | Kept | Shown, Section: InDaemon},
	{Name: "AWS_CA_BUNDLE", Meaning: trustMeaning, Readers: Daemon | Kept | Shown | GitHTTP, Section: InDaemon},
	{Name: "SSL_CERT_FILE", Meaning: trustMeaning, Readers: Daemon | Kept, Section: InDaemon},
	{Name: "SSL_CERT_DIR", Meaning: trustMeaning, Readers: Daemon | Kept, Section: InDaemon},
	{Name: "HTTPS_PROXY", Meaning: proxyMeaning, Readers: Daemon | Helper | Kept | Shown | GitHTTP, Section: InDaemon, AnyCase: true},
	{Name: "HTTP_PROXY", Meaning: proxyMeaning, Readers: Daemon | Kept | Shown, Section: InDaemon, AnyCase: true},
	{Name: "NO_PROXY", Meaning: proxyMeaning, Readers: Daemon | Helper | Kept | Shown | GitHTTP, Section: InDaemon, AnyCase: true},
	{Name: "ALL_PROXY", Meaning: "not read by Go, so not by the daemon for AWS calls; kept for the `credential_process` programs the daemon runs, and sent by the helper to the git transport as git's proxy when `HTTPS_PROXY` is not set", Readers: Kept | Shown | GitHTTP, Section: InDaemon, AnyCase: true},
	{Name: "AWS_STS_REGIONAL_ENDPOINTS", Meaning: sdkMeaning, Readers: Daemon | Kept | Shown, Section: InDaemon},
	{Name: "AWS_USE_DUALSTACK_ENDPOINT", Meaning: sdkMeaning, Readers: Daemon | Kept, Section: InDaemon},
	{Name: "AWS_MAX_ATTEMPTS", Meaning: sdkMeaning, Readers: Daemon | Kept, Section: InDaemon},
	{Name: "AWS_RETRY_MODE", Meaning: sdkMeaning, Readers: Daemon | Kept, Section: InDaemon},
	{Name: "AWS_LOGIN_CACHE_DIRECTORY", Meaning: "where `aws login` keeps its sessions (default `~/.aws/login/cache`), as for the AWS CLI", Readers: Daemon | Kept, Section: InDaemon},
	{Name: "AWS_EC2_METADATA_DISABLED", Meaning: metadataMeaning, Readers: Daemon | Kept | Shown, Section: InDaemon},
	{Name: "AWS_EC2_METADATA_SERVICE_ENDPOINT", Meaning: metadataMeaning, Readers: Daemon | Kept | Shown, Section: InDaemon},
	{Name: "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", Meaning: metadataMeaning, Readers: Daemon | Kept, Section: InDaemon},
	{Name: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", Meaning: metadataMeaning, Readers: Daemon | Kept | Shown, Section: InDaemon},
	{Name: "AWS_CONTAINER_CREDENTIALS_FULL_URI", Meaning: metadataMeaning, Readers: Daemon | Kept | Shown, Section: InDaemon},
	// A token: kept, never shown.
	{Name: "AWS_CONTAINER_AUTHORIZATION_TOKEN", Meaning: metadataMeaning, Readers: Daemon | Kept, Section: InDaemon},
	{Name: "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", Meaning: metadataMeaning, Readers: Daemon | Kept, Section: InDaemon},
	{Name: "XDG_RUNTIME_DIR", Meaning: foldersMeaning, Readers: Helper | Daemon | Kept | Shown, Section: InDaemon},
	{Name: "XDG_STATE_HOME", Meaning: foldersMeaning, Readers: Daemon | Kept | Shown, Section: InDaemon},
	{Name: "USER", Meaning: "the user name in the default `role_session_name` (`codecommitd-<user>`)", Readers: Daemon | Kept | Shown, Section: InDaemon},
	{Name: "GOGC", Meaning: "Go's GC target; the daemon uses 50 unless this is set", Readers: Daemon | Kept | Shown, Section: InDaemon},
	{Name: "GOMEMLIMIT", Meaning: "Go's memory limit, as for any Go program", Readers: Daemon | Kept, Section: InDaemon},
	{Name: Keyring, Meaning: "`0`: do not use the OS keyring for the cache key", Readers: Daemon | Kept, Section: InDaemon},
	{Name: "DBUS_SESSION_BUS_ADDRESS", Meaning: "the session bus, through which the daemon reaches the keyring (Secret Service)", Readers: Daemon | Kept, Section: InDaemon},
	{Name: Reaper, Meaning: "set by codecommitd for the reaper it starts for each `credential_process` run (Linux, see Platforms); not for people", Readers: Daemon, Section: InDaemon},

	// Kept by a daemon the helpers start, for the programs it runs.
	{Name: "PATH", Meaning: "where programs are found: `codecommitd` and git by the helpers, the shell and what `credential_process` runs by the daemon", Readers: Helper | Daemon | Kept | Shown, Section: InKept},
	{Name: "LOGNAME", Meaning: sessionMeaning, Readers: Kept, Section: InKept},
	{Name: "SHELL", Meaning: sessionMeaning, Readers: Kept, Section: InKept},
	{Name: "TMPDIR", Meaning: sessionMeaning, Readers: Kept, Section: InKept},
	{Name: "TZ", Meaning: sessionMeaning, Readers: Kept, Section: InKept},
	{Name: "LANG", Meaning: localeMeaning, Readers: Kept, Section: InKept},
	{Name: "LANGUAGE", Meaning: localeMeaning, Readers: Kept, Section: InKept},
	{Name: "LC_*", Meaning: localeMeaning, Readers: Kept, Section: InKept},
	{Name: "XDG_CONFIG_HOME", Meaning: xdgMeaning, Readers: Kept, Section: InKept},
	{Name: "XDG_DATA_HOME", Meaning: xdgMeaning, Readers: Kept, Section: InKept},
	{Name: "SYSTEMROOT", Meaning: windowsMeaning, Readers: Kept, Section: InKept, Windows: true},
	{Name: "SYSTEMDRIVE", Meaning: windowsMeaning, Readers: Helper | Kept, Section: InKept, Windows: true},
	{Name: "WINDIR", Meaning: windowsMeaning, Readers: Kept, Section: InKept, Windows: true},
	{Name: "USERPROFILE", Meaning: windowsMeaning, Readers: Kept, Section: InKept, Windows: true},
	{Name: "APPDATA", Meaning: windowsMeaning, Readers: Kept, Section: InKept, Windows: true},
	{Name: "LOCALAPPDATA", Meaning: windowsMeaning, Readers: Kept, Section: InKept, Windows: true},
	{Name: "PROGRAMDATA", Meaning: windowsMeaning, Readers: Kept, Section: InKept, Windows: true},
	{Name: "TEMP", Meaning: windowsMeaning, Readers: Kept, Section: InKept, Windows: true},
	{Name: "TMP", Meaning: windowsMeaning, Readers: Kept, Section: InKept, Windows: true},
	{Name: "USERNAME", Meaning: windowsMeaning, Readers: Helper | Daemon | Kept, Section: InKept, Windows: true},
	{Name: "USERDOMAIN", Meaning: windowsMeaning, Readers: Kept, Section: InKept, Windows: true},
	{Name: "COMSPEC", Meaning: windowsMeaning, Readers: Kept, Section: InKept, Windows: true},
	{Name: "PATHEXT", Meaning: windowsMeaning, Readers: Kept, Section: InKept, Windows: true},
}
