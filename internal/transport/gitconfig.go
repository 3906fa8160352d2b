package transport

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/codecommitd/codecommitd/internal/clean"
)

// ConfigEntry is one entry of git's configuration, as `git config -z
// --get-regexp` lists it: Key has its section and name in lower case and
// its subsection (a URL) as written; NoValue is a key without "=".
type ConfigEntry struct {
	Key, Value string
	NoValue    bool
}

// MaxCAFile bounds the CA file git's settings name: a system bundle is a
// few hundred KiB.
const MaxCAFile = 4 << 20

// GitSettings returns what git's https helper would use to reach rawURL
// (https://host[:port]/v1/repos/<repository>), from git's configuration
// entries (every http.* one, and remote.<name>.proxy, in the order git
// reads them) and the caller's environment env (the variables that are
// set, and only git's: an empty value is set). It reads
// the configuration as git 2.31–2.39 do (http.c, urlmatch.c):
// http.<url>.<key> applies when its URL matches rawURL (scheme, host with
// "*" for one label, port, a path prefix at a "/"; a URL naming a user
// never matches, since rawURL has none), the longest host, then the
// longest path wins, and of equal ones the last; remote.<name>.proxy over
// http.proxy; the environment over the configuration (GIT_SSL_CAINFO,
// GIT_SSL_NO_VERIFY, GIT_HTTP_LOW_SPEED_LIMIT, GIT_HTTP_LOW_SPEED_TIME,
// GIT_HTTP_USER_AGENT); without http.proxy, https_proxy, HTTPS_PROXY,
// all_proxy then ALL_PROXY, and no_proxy or NO_PROXY; an empty proxy is
// none. Without a CA file of git's, AWS_CA_BUNDLE's is trusted. The CA
// file is read with readFile (at most MaxCAFile bytes); "~/" in it is
// home. The error is a *SettingError naming the setting.
func GitSettings(rawURL string, entries []ConfigEntry, env map[string]string, home string, readFile func(string) ([]byte, error)) (Upstream, error) {
	target, ok := normalizeURL(rawURL, false)
	if !ok {
		return Upstream{}, fmt.Errorf("%w: %s is not a URL", ErrInvalidGrant, clean.Quote(rawURL, 200))
	}
	vals := map[string]configValue{}
	var remoteProxy *configValue
	for i, e := range entries {
		if rest, ok := strings.CutPrefix(e.Key, "remote."); ok && strings.HasSuffix(rest, ".proxy") {
			v := configValue{e.Value, e.NoValue, match{}, i}
			remoteProxy = &v
			continue
		}
		rest, ok := strings.CutPrefix(e.Key, "http.")
		if !ok {
			continue
		}
		var m match
		name := rest
		if dot := strings.LastIndexByte(rest, '.'); dot >= 0 {
			pattern, ok := normalizeURL(rest[:dot], true)
			if !ok {
				continue
			}
			if m, ok = target.matchedBy(pattern); !ok {
				continue
			}
			name = rest[dot+1:]
		}
		if old, ok := vals[name]; ok && m.less(old.m) {
			continue
		}
		vals[name] = configValue{e.Value, e.NoValue, m, i}
	}
	str := func(name string) (string, bool) {
		v, ok := vals[name]
		return v.value, ok
	}
	set := func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok && v != ""
	}
	var u Upstream
	var err error

	// The proxy: remote.<name>.proxy, else http.proxy, else the
	// environment, as curl reads it for an https URL.
	proxy, configured := str("proxy")
	if remoteProxy != nil {
		proxy, configured = remoteProxy.value, true
	}
	if !configured {
		for _, name := range []string{"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"} {
			if v, ok := env[name]; ok {
				proxy = v
				break
			}
		}
	}
	u.Proxy = proxy
	for _, name := range []string{"no_proxy", "NO_PROXY"} {
		if v, ok := env[name]; ok {
			u.NoProxy = v
			break
		}
	}

	if v, ok := vals["sslverify"]; ok {
		verify, ok := gitBool(v.value, v.noValue)
		if !ok {
			return Upstream{}, &SettingError{"http.sslVerify", fmt.Sprintf("http.sslVerify is %s, not a boolean (true or false); fix it in your git config", clean.Quote(v.value, 40))}
		}
		u.NoVerify = !verify
	}
	if _, ok := env["GIT_SSL_NO_VERIFY"]; ok { // git: getenv, any value
		u.NoVerify = true
	}

	ca, _ := str("sslcainfo")
	caFrom := "http.sslCAInfo"
	if v, ok := set("GIT_SSL_CAINFO"); ok {
		ca, caFrom = v, "GIT_SSL_CAINFO"
	} else if ca == "" {
		ca, caFrom = env["AWS_CA_BUNDLE"], "AWS_CA_BUNDLE"
	}
	if ca != "" {
		if u.CAInfo, err = readCAFile(ca, caFrom, home, readFile); err != nil {
			return Upstream{}, err
		}
	}

	if u.LowSpeedLimit, err = gitInt(vals, set, "lowspeedlimit", "http.lowSpeedLimit", "GIT_HTTP_LOW_SPEED_LIMIT"); err != nil {
		return Upstream{}, err
	}
	secs, err := gitInt(vals, set, "lowspeedtime", "http.lowSpeedTime", "GIT_HTTP_LOW_SPEED_TIME")
	if err != nil {
		return Upstream{}, err
	}
	u.LowSpeedTime = time.Duration(secs) * time.Second
	u.UserAgent, _ = str("useragent")
	if v, ok := set("GIT_HTTP_USER_AGENT"); ok {
		u.UserAgent = v
	}
	return u, nil
}

// configValue is the entry that won for one key so far.
type configValue struct {
	value   string
	noValue bool
	m       match
	index   int
}

// readCAFile reads the CA file a setting names.
func readCAFile(path, from, home string, readFile func(string) ([]byte, error)) ([]byte, error) {
	if rest, ok := strings.CutPrefix(path, "~/"); ok && home != "" {
		path = filepath.Join(home, rest)
	}
	b, err := readFile(path)
	switch {
	case err != nil:
		why := "cannot be read"
		if os.IsNotExist(err) {
			why = "does not exist"
		}
		return nil, &SettingError{from, fmt.Sprintf("the CA file %s names, %s, %s; fix the setting", from, clean.Quote(path, 200), why)}
	case len(b) > MaxCAFile:
		return nil, &SettingError{from, fmt.Sprintf("the CA file %s names, %s, is larger than %d MiB; name a PEM file of certificates", from, clean.Quote(path, 200), MaxCAFile>>20)}
	}
	return b, nil
}

// gitBool reads a boolean as git_config_bool does.
func gitBool(v string, noValue bool) (bool, bool) {
	if noValue {
		return true, true
	}
	switch strings.ToLower(v) {
	case "true", "yes", "on":
		return true, true
	case "false", "no", "off", "":
		return false, true
	}
	n, err := parseGitInt(v)
	return n != 0, err == nil
}

// gitInt reads an integer setting: the environment's (as strtol reads
// it, which git does for these), else the configuration's (with git's k,
// m and g suffixes).
func gitInt(vals map[string]configValue, env func(string) (string, bool), key, setting, envName string) (int64, error) {
	if v, ok := env(envName); ok {
		n, _ := strconv.ParseInt(strings.TrimSpace(leadingInt(v)), 10, 64)
		return n, nil
	}
	v, ok := vals[key]
	if !ok {
		return 0, nil
	}
	n, err := parseGitInt(v.value)
	if err != nil || n < 0 {
		return 0, &SettingError{setting, fmt.Sprintf("%s is %s, not a number of 0 or more; fix it in your git config", setting, clean.Quote(v.value, 40))}
	}
	return n, nil
}

// leadingInt is the part of s strtol reads.
func leadingInt(s string) string {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	end := 0
	if end < len(s) && (s[end] == '-' || s[end] == '+') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	return s[:end]
}

// parseGitInt reads an integer as git_parse_int does: digits, then an
// optional k, m or g.
func parseGitInt(v string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(strings.ToLower(v), "k"):
		mult = 1 << 10
	case strings.HasSuffix(strings.ToLower(v), "m"):
		mult = 1 << 20
	case strings.HasSuffix(strings.ToLower(v), "g"):
		mult = 1 << 30
	}
	if mult != 1 {
		v = v[:len(v)-1]
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, err
	}
	return n * mult, nil
}
