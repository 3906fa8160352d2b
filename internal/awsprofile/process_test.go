package awsprofile

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestCompleteJSON(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want bool
	}{
		{`{"Version": 1}`, true},
		{`{"Version": 1}` + "\n" + `trailing output of a straggler`, true},
		{`not json`, true}, // no continuation makes it JSON
		{``, false},
		{"  \n", false},
		{`{"Version": 1,`, false},
		{`{"Version": "1`, false},
	} {
		if got := completeJSON([]byte(tc.out)); got != tc.want {
			t.Errorf("completeJSON(%q) = %v, want %v", tc.out, got, tc.want)
		}
	}
}

// FuzzCompleteJSON: a JSON object is complete, and no part of it cut short
// is (so a credential_process's answer is never taken half-printed).
func FuzzCompleteJSON(f *testing.F) {
	f.Add([]byte(`{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "S", "Expiration": "2030-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"a": [1, {"b": "}"}], "c": "\"{"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		completeJSON(b) // never panics
		b = bytes.TrimSpace(b)
		if !json.Valid(b) || len(b) == 0 || b[0] != '{' {
			return
		}
		if !completeJSON(b) {
			t.Fatalf("completeJSON(%q) = false for a whole object", b)
		}
		for i := range len(b) {
			if completeJSON(b[:i]) {
				t.Fatalf("completeJSON(%q) = true for a cut-short object", b[:i])
			}
		}
	})
}
