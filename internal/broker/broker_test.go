package broker

import (
	"os"
	"path/filepath"
	"testing"
)

func TestEnvironMakesFilePathsAbsolute(t *testing.T) {
	wd, _ := os.Getwd()
	vars := map[string]string{
		"AWS_CONFIG_FILE":             "conf/aws",
		"AWS_SHARED_CREDENTIALS_FILE": "/abs/creds",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "~/token",
		"AWS_PROFILE":                 "rel/looking",
		"UNRELATED":                   "x",
	}
	env := Environ(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	want := map[string]string{
		"AWS_CONFIG_FILE":             filepath.Join(wd, "conf/aws"),
		"AWS_SHARED_CREDENTIALS_FILE": "/abs/creds",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "~/token", // the daemon expands ~ with the caller's HOME
		"AWS_PROFILE":                 "rel/looking",
	}
	if len(env) != len(want) {
		t.Fatalf("Environ = %v", env)
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
}
