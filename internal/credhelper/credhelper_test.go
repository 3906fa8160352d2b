package credhelper

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
)

func TestParseRequest(t *testing.T) {
	in := "protocol=https\nhost=git-codecommit.eu-west-1.amazonaws.com\npath=v1/repos/app\nwwwauth[]=Basic realm=\"x\"\ncapability[]=authtype\n\nignored=after blank\n"
	got, err := ParseRequest(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Request{Protocol: "https", Host: "git-codecommit.eu-west-1.amazonaws.com", Path: "v1/repos/app"}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	got, err = ParseRequest(strings.NewReader("url=https://user@h:1/v1/repos/r\n"))
	if err != nil || got != (Request{Protocol: "https", Host: "h:1", Path: "v1/repos/r", Username: "user"}) {
		t.Fatalf("url= form: %+v, %v", got, err)
	}
	for _, bad := range []string{"no equals sign\n", "host=a\x00b\n", "url=nonsense\n"} {
		if _, err := ParseRequest(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseRequest(%q) accepted it", bad)
		}
	}
}

func TestResponseWrite(t *testing.T) {
	var b bytes.Buffer
	if err := (Response{Username: "ASIA%tok/en+=", Password: "20260101T000000Zabc", ExpiryUnix: 1767225600}).Write(&b); err != nil {
		t.Fatal(err)
	}
	// Not URL-encoded: git takes the values as they are.
	if want := "username=ASIA%tok/en+=\npassword=20260101T000000Zabc\npassword_expiry_utc=1767225600\n"; b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
	if err := (Response{Username: "a\nb"}).Write(&b); err == nil {
		t.Fatal("a newline in a value was written")
	}
}

// fakeBroker answers SignURL and records the request.
type fakeBroker struct {
	broker.Broker
	got *broker.SignRequest
	err error
}

func (f *fakeBroker) SignURL(_ context.Context, r *broker.SignRequest) (*broker.SignedURL, error) {
	f.got = r
	if f.err != nil {
		return nil, f.err
	}
	return &broker.SignedURL{Username: "ASIAX%tok", Password: "pw", Expires: time.Unix(2000000000, 0), Region: r.Region}, nil
}

func run(t *testing.T, args []string, stdin string, env map[string]string, gitcfg map[string]string, b broker.Broker) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := Run(context.Background(), Config{
		Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] },
		Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Broker: b,
		GitConfig: func(_ context.Context, key, url string) (string, error) {
			return gitcfg[key+" "+url], nil
		},
	})
	return out.String(), err
}

func TestGet(t *testing.T) {
	const req = "protocol=https\nhost=git-codecommit-fips.us-gov-west-1.amazonaws.com\npath=v1/repos/app\n\n"
	b := &fakeBroker{}
	out, err := run(t, []string{"get"}, req, nil,
		map[string]string{"codecommit.profile https://git-codecommit-fips.us-gov-west-1.amazonaws.com/v1/repos/app": "gov"}, b)
	if err != nil {
		t.Fatal(err)
	}
	if want := "username=ASIAX%tok\npassword=pw\npassword_expiry_utc=2000000000\n"; out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	if g := b.got; g.Profile != "gov" || g.Region != "us-gov-west-1" || g.Repository != "app" || g.Host != "git-codecommit-fips.us-gov-west-1.amazonaws.com" {
		t.Errorf("request = %+v", g)
	}
	// For git-remote-codecommit the URL decides, never git config.
	run(t, []string{"--no-config-profile", "get"}, req, nil,
		map[string]string{"codecommit.profile https://git-codecommit-fips.us-gov-west-1.amazonaws.com/v1/repos/app": "gov"}, b)
	if b.got.Profile != "" {
		t.Errorf("--no-config-profile still read git config: %+v", b.got)
	}
	// --profile and --region win over git config and the host.
	run(t, []string{"--profile", "p", "--region", "eu-west-1", "get"}, req, nil, nil, b)
	if b.got.Profile != "p" || b.got.Region != "eu-west-1" {
		t.Errorf("flags ignored: %+v", b.got)
	}
}

func TestGetIgnoresOtherHosts(t *testing.T) {
	b := &fakeBroker{}
	for _, req := range []string{
		"protocol=https\nhost=github.com\npath=x/y\n",
		"protocol=http\nhost=git-codecommit.us-east-1.amazonaws.com\npath=v1/repos/r\n",
		"protocol=https\nhost=127.0.0.1:8443\npath=v1/repos/r\n", // not the CODE_COMMIT_ENDPOINT below
	} {
		out, err := run(t, []string{"get"}, req, map[string]string{"CODE_COMMIT_ENDPOINT": "127.0.0.1:9999"}, nil, b)
		if err != nil || out != "" || b.got != nil {
			t.Errorf("%q: out %q, err %v, asked the broker: %v", req, out, err, b.got != nil)
		}
	}
	// The endpoint override is recognised.
	out, err := run(t, []string{"get"}, "protocol=https\nhost=127.0.0.1:9999\npath=v1/repos/r\n", map[string]string{"CODE_COMMIT_ENDPOINT": "127.0.0.1:9999"}, nil, b)
	if err != nil || !strings.Contains(out, "password=pw") || b.got.Region != "" {
		t.Errorf("override host: %q %v %+v", out, err, b.got)
	}
}

func TestGetRefusesWithoutPath(t *testing.T) {
	_, err := run(t, []string{"get"}, "protocol=https\nhost=git-codecommit.us-east-1.amazonaws.com\n", nil, nil, &fakeBroker{})
	if err == nil || !strings.Contains(err.Error(), "useHttpPath true") {
		t.Fatalf("err = %v, want the useHttpPath fix", err)
	}
}

func TestStoreEraseAndUsage(t *testing.T) {
	b := &fakeBroker{}
	for _, op := range []string{"store", "erase"} {
		out, err := run(t, []string{op}, "protocol=https\nhost=h\nusername=u\npassword=p\n", nil, nil, b)
		if err != nil || out != "" || b.got != nil {
			t.Errorf("%s: %q %v", op, out, err)
		}
	}
	for _, args := range [][]string{nil, {"fill"}, {"get", "extra"}, {"--bogus", "get"}} {
		if _, err := run(t, args, "", nil, nil, b); !errors.Is(err, ErrUsage) {
			t.Errorf("%v: err = %v, want ErrUsage", args, err)
		}
	}
	out, err := run(t, []string{"--version"}, "", nil, nil, b)
	if err != nil || !strings.HasPrefix(out, "git-credential-codecommit ") {
		t.Errorf("--version: %q %v", out, err)
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add("protocol=https\nhost=h\npath=v1/repos/r\n\n")
	f.Add("url=https://u@h/p\n")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRequest(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, v := range []string{r.Protocol, r.Host, r.Path, r.Username} {
			if strings.ContainsAny(v, "\n\x00") {
				t.Fatalf("parsed value %q holds a newline or NUL", v)
			}
		}
	})
}
