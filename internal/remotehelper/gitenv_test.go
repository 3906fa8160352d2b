package remotehelper

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// This file is a model of how git (2.31 to 2.39 at least) reads the
// configuration it finds in its environment, written from git's config.c
// (git_config_from_parameters, parse_config_env_list,
// git_config_parse_parameter, config_parse_pair, git_config_parse_key) and
// quote.c (sq_dequote_step). TestGitEnvModelIsGits checks it against the
// real git; the tests of injectConfig read the environments it builds with
// it.

// configEntry is one setting as git's config callback gets it: the key
// with its section and name lower-cased, and the value; NoValue is an
// implicit boolean ('key' alone, or old-style 'key' without "=").
type configEntry struct {
	Key, Value string
	NoValue    bool
}

func (e configEntry) String() string {
	if e.NoValue {
		return e.Key
	}
	return e.Key + "=" + e.Value
}

// gitEnvConfig returns the settings git reads from env, in the order it
// applies them, or the error git reports (its text as git prints it after
// "error: "). Like getenv, it takes the first of several variables of one
// name.
func gitEnvConfig(env []string) ([]configEntry, error) {
	getenv := func(name string) (string, bool) {
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, name+"="); ok {
				return v, true
			}
		}
		return "", false
	}
	var out []configEntry
	if v, ok := getenv("GIT_CONFIG_COUNT"); ok {
		n, ok := strtoul(v)
		switch {
		case !ok:
			return nil, errors.New("bogus count in GIT_CONFIG_COUNT")
		case n > 1<<31-1:
			return nil, errors.New("too many entries in GIT_CONFIG_COUNT")
		}
		for i := range n {
			key, ok := getenv("GIT_CONFIG_KEY_" + strconv.FormatUint(i, 10))
			if !ok {
				return nil, fmt.Errorf("missing config key GIT_CONFIG_KEY_%d", i)
			}
			value, ok := getenv("GIT_CONFIG_VALUE_" + strconv.FormatUint(i, 10))
			if !ok {
				return nil, fmt.Errorf("missing config value GIT_CONFIG_VALUE_%d", i)
			}
			e, err := configPair(key, value, false)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
	}
	if v, ok := getenv("GIT_CONFIG_PARAMETERS"); ok {
		entries, err := parseConfigEnvList(v)
		if err != nil {
			return nil, err
		}
		out = append(out, entries...)
	}
	return out, nil
}

// isSpace is git's isspace (git-compat-util.h: space, \t, \n, \r; unlike
// C's, not \v or \f).
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// strtoul is C's strtoul(s, &end, 10) followed by git's check that *end is
// the end of the string: white space (C's isspace), a sign, digits; no
// digits at all leaves end at the start, which is only the end for "".
// A minus negates modulo 2^64; an overflow gives ULONG_MAX.
func strtoul(s string) (uint64, bool) {
	i := 0
	for i < len(s) && (isSpace(s[i]) || s[i] == '\v' || s[i] == '\f') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var n uint64
	overflow := false
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		d := uint64(s[i] - '0')
		if n > (1<<64-1-d)/10 {
			overflow = true
		}
		n = n*10 + d
		i++
	}
	if i == start {
		return 0, s == ""
	}
	if i != len(s) {
		return 0, false
	}
	switch {
	case overflow:
		return 1<<64 - 1, true
	case neg:
		return -n, true
	}
	return n, true
}

// parseConfigEnvList reads GIT_CONFIG_PARAMETERS: items separated by white
// space, each 'key=value' (old style) or 'key'='value' or 'key'= (new
// style), in git's single quoting.
func parseConfigEnvList(s string) ([]configEntry, error) {
	bogus := errors.New("bogus format in GIT_CONFIG_PARAMETERS")
	var out []configEntry
	cur, more := s, true
	for more && cur != "" {
		var key string
		var ok bool
		key, cur, more, ok = sqDequoteStep(cur)
		if !ok {
			return nil, bogus
		}
		var e configEntry
		var err error
		switch {
		case !more || isSpace(cur[0]):
			e, err = configParameter(key)
		case cur[0] == '=':
			cur = cur[1:]
			switch {
			case cur != "" && cur[0] == '\'':
				var value string
				value, cur, more, ok = sqDequoteStep(cur)
				if !ok || more && !isSpace(cur[0]) {
					return nil, bogus
				}
				e, err = configPair(key, value, false)
			case cur == "" || isSpace(cur[0]):
				e, err = configPair(key, "", true)
			default:
				return nil, bogus
			}
		default:
			return nil, bogus
		}
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		for more && cur != "" && isSpace(cur[0]) {
			cur = cur[1:]
		}
	}
	return out, nil
}

// sqDequoteStep reads one single-quoted word at the start of s (between
// two quoted parts, a backslash and a single quote or an exclamation mark
// stand for that character). It returns the word and what follows it;
// more is false when the word ended the string.
func sqDequoteStep(s string) (word, rest string, more, ok bool) {
	if s == "" || s[0] != '\'' {
		return "", "", false, false
	}
	var b strings.Builder
	i := 1
	for {
		if i >= len(s) {
			return "", "", false, false
		}
		if s[i] != '\'' {
			b.WriteByte(s[i])
			i++
			continue
		}
		i++ // out of the quotes
		switch {
		case i == len(s):
			return b.String(), "", false, true
		case s[i] == '\\' && i+2 < len(s) && (s[i+1] == '\'' || s[i+1] == '!') && s[i+2] == '\'':
			b.WriteByte(s[i+1])
			i += 3
		default:
			return b.String(), s[i:], true, true
		}
	}
}

// configParameter reads an old-style 'key=value' (git_config_parse_parameter).
func configParameter(text string) (configEntry, error) {
	key, value, hasValue := strings.Cut(text, "=")
	key = strings.TrimFunc(key, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) })
	if key == "" {
		return configEntry{}, fmt.Errorf("bogus config parameter: %s", text)
	}
	return configPair(key, value, !hasValue)
}

// configPair checks key as git_config_parse_key does and returns the entry
// with the key's section and name lower-cased.
func configPair(key, value string, noValue bool) (configEntry, error) {
	if key == "" {
		return configEntry{}, errors.New("empty config key")
	}
	last := strings.LastIndexByte(key, '.')
	switch {
	case last <= 0:
		return configEntry{}, fmt.Errorf("key does not contain a section: %s", key)
	case last == len(key)-1:
		return configEntry{}, fmt.Errorf("key does not contain variable name: %s", key)
	}
	canon := []byte(key)
	dot := false
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c == '.' {
			dot = true
		}
		if !dot || i > last {
			alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
			if keyChar := alpha || c >= '0' && c <= '9' || c == '-'; !keyChar || i == last+1 && !alpha {
				return configEntry{}, fmt.Errorf("invalid key: %s", key)
			}
			if c >= 'A' && c <= 'Z' {
				canon[i] = c + 'a' - 'A'
			}
		} else if c == '\n' {
			return configEntry{}, fmt.Errorf("invalid key (newline): %s", key)
		}
	}
	return configEntry{Key: string(canon), Value: value, NoValue: noValue}, nil
}
