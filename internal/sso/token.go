package sso

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// timeFormat is how the AWS CLI writes times in its SSO cache (awscli
// customizations/sso/utils.py _serialize_utc_timestamp): RFC 3339 in UTC,
// to the second, with "Z".
const timeFormat = "2006-01-02T15:04:05Z"

// Token is a token file's content: what `aws sso login` writes to
// ~/.aws/sso/cache/<CacheKey>.json and the SDKs read. Fields other tools
// add are kept as they are when codecommitd rewrites the file. Its String,
// GoString and LogValue never show a secret.
type Token struct {
	StartURL    string
	Region      string
	AccessToken string
	ExpiresAt   time.Time
	// ClientID and ClientSecret are the client registration that issued
	// the token, needed to refresh it; RegistrationExpiresAt is when that
	// registration ends (zero when the file does not say).
	ClientID              string
	ClientSecret          string
	RegistrationExpiresAt time.Time
	// RefreshToken renews the access token; single-use. Empty for a
	// legacy profile's token.
	RefreshToken string

	extra map[string]json.RawMessage
}

// CanRefresh reports whether t holds what a refresh needs: a refresh token
// and the client registration that issued it.
func (t Token) CanRefresh() bool {
	return t.RefreshToken != "" && t.ClientID != "" && t.ClientSecret != ""
}

// same reports whether t and o are the same sign-in state: the same access
// and refresh tokens. A file whose token is not the one read earlier was
// rewritten meanwhile.
func (t Token) same(o Token) bool {
	return t.AccessToken == o.AccessToken && t.RefreshToken == o.RefreshToken
}

func (t Token) String() string {
	return fmt.Sprintf("SSO token (expires %s, refresh token: %t)", t.ExpiresAt.UTC().Format(timeFormat), t.RefreshToken != "")
}

// GoString keeps %#v from printing the secrets.
func (t Token) GoString() string { return t.String() }

// LogValue logs what a token is without its secrets.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.Time("expires", t.ExpiresAt), slog.Bool("refreshable", t.CanRefresh()))
}

// ParseToken reads a token file's content. Its errors say what is wrong in
// the file's terms (a field's name, never its value): the file holds
// secrets.
func ParseToken(b []byte) (Token, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil || fields == nil {
		return Token{}, errors.New("it is not a JSON object")
	}
	var t Token
	strs := map[string]*string{"startUrl": &t.StartURL, "region": &t.Region, "accessToken": &t.AccessToken,
		"clientId": &t.ClientID, "clientSecret": &t.ClientSecret, "refreshToken": &t.RefreshToken}
	times := map[string]*time.Time{"expiresAt": &t.ExpiresAt, "registrationExpiresAt": &t.RegistrationExpiresAt}
	for k, raw := range fields {
		s, isString := strs[k]
		at, isTime := times[k]
		if !isString && !isTime {
			if t.extra == nil {
				t.extra = map[string]json.RawMessage{}
			}
			t.extra[k] = raw
			continue
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return Token{}, fmt.Errorf("its %s is not a string", k)
		}
		if isString {
			*s = v
			continue
		}
		parsed, err := parseTime(v)
		if err != nil {
			return Token{}, fmt.Errorf("its %s is not a time (RFC 3339, such as 2030-01-02T15:04:05Z)", k)
		}
		*at = parsed
	}
	switch {
	case t.AccessToken == "":
		return Token{}, errors.New("it has no accessToken")
	case t.ExpiresAt.IsZero():
		return Token{}, errors.New("it has no expiresAt")
	}
	return t, nil
}

// parseTime reads a time as the AWS tools write them: RFC 3339 (what the
// CLI and the SDKs write, with or without fractions of a second), or the
// "…UTC" suffix early CLI v2 releases wrote.
func parseTime(v string) (time.Time, error) {
	if s, ok := strings.CutSuffix(v, "UTC"); ok {
		v = s + "Z"
	}
	return time.Parse(time.RFC3339, v)
}

// encode is t as the AWS CLI writes a token file: its fields in its order
// (botocore SSOTokenFetcher _create_token_attempt; empty ones left out), times in its format, then the fields other tools
// added, as they were.
func (t Token) encode() []byte {
	var o cliJSON
	for _, kv := range [][2]string{
		{"startUrl", t.StartURL}, {"region", t.Region}, {"accessToken", t.AccessToken}, {"expiresAt", formatTime(t.ExpiresAt)},
		{"clientId", t.ClientID}, {"clientSecret", t.ClientSecret}, {"registrationExpiresAt", formatTime(t.RegistrationExpiresAt)},
		{"refreshToken", t.RefreshToken},
	} {
		if kv[1] != "" {
			o.put(kv[0], kv[1])
		}
	}
	keys := make([]string, 0, len(t.extra))
	for k := range t.extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		o.put(k, t.extra[k])
	}
	return o.bytes()
}

// cliJSON builds a JSON object as the AWS CLI's json.dumps writes one: the
// keys in the order put, ", " between members and list elements, ": "
// after a key.
type cliJSON struct{ b bytes.Buffer }

// put adds k with v: a string, a list of strings, or JSON as it is.
func (o *cliJSON) put(k string, v any) {
	if o.b.Len() > 0 {
		o.b.WriteString(", ")
	} else {
		o.b.WriteByte('{')
	}
	o.b.Write(jsonString(k))
	o.b.WriteString(": ")
	switch v := v.(type) {
	case string:
		o.b.Write(jsonString(v))
	case []string:
		o.b.WriteByte('[')
		for i, s := range v {
			if i > 0 {
				o.b.WriteString(", ")
			}
			o.b.Write(jsonString(s))
		}
		o.b.WriteByte(']')
	case json.RawMessage:
		o.b.Write(v)
	}
}

func (o *cliJSON) bytes() []byte {
	if o.b.Len() == 0 {
		return []byte("{}")
	}
	return append(o.b.Bytes(), '}')
}

func jsonString(s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}
