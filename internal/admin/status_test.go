package admin

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
)

// TestStatusShowsSSOSessions: status has a section per IAM Identity Center
// session the daemon keeps, text and JSON: its start URL, its token's
// expiry, the session's end where known, the next refresh and what is
// wrong.
func TestStatusShowsSSOSessions(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	st := &broker.Status{PID: 7, StartedAt: now.Add(-time.Hour), Socket: "/s", Version: "v",
		SSOSessions: []broker.SSOSessionStatus{
			{Session: "profile dev (sso-session corp)", Name: "corp", StartURL: "https://corp.awsapps.com/start", Region: "us-east-1",
				TokenFile: "/h/.aws/sso/cache/x.json", Expires: now.Add(47 * time.Minute), SessionEnds: now.Add(7 * time.Hour),
				Renewable: true, NextRefresh: now.Add(35 * time.Minute), Refreshes: 2, LastUsed: now},
			{Session: "profile old", StartURL: "https://old.awsapps.com/start", Region: "us-east-1", TokenFile: "/h/.aws/sso/cache/y.json",
				LastError: "profile old is not signed in to IAM Identity Center (…)", LastUsed: now},
		}}
	var text bytes.Buffer
	if err := writeStatusText(&text, st, now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"SSO SESSION  START URL                       TOKEN EXPIRES  SESSION ENDS  NEXT REFRESH  STATE\n",
		"corp         https://corp.awsapps.com/start  in 47m0s       in 7h0m0s     in 35m0s      ok, renewed 2 times\n",
		"profile old  https://old.awsapps.com/start   -              -             -             profile old is not signed in to IAM Identity Center (…)\n",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text status lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := writeStatusJSON(&js, st, now); err != nil {
		t.Fatal(err)
	}
	var got struct {
		SSOSessions []map[string]any `json:"sso_sessions"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.SSOSessions) != 2 || got.SSOSessions[0]["sso_session"] != "corp" || got.SSOSessions[0]["session_ends"] != "2026-01-02T10:00:00Z" ||
		got.SSOSessions[0]["expires"] != "2026-01-02T03:47:00Z" || got.SSOSessions[1]["last_error"] == nil || got.SSOSessions[0]["refreshes"] != 2.0 {
		t.Errorf("JSON status: %s", js.String())
	}
}
