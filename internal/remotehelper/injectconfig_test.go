package remotehelper

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// gitIn runs the real git in dir with exactly env (duplicates included,
// which os/exec would drop) and stdin, and returns its stdout and stderr.
func gitIn(t *testing.T, dir string, env []string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	path, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not on PATH")
	}
	files := make([]*os.File, 3)
	for i := range files {
		if files[i], err = os.CreateTemp(dir, "std"); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(files[i].Name())
		defer files[i].Close()
	}
	files[0].WriteString(stdin)
	files[0].Seek(0, 0)
	p, err := os.StartProcess(path, append([]string{"git"}, args...), &os.ProcAttr{Dir: dir, Env: env, Files: files})
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(files[1].Name())
	errOut, _ := os.ReadFile(files[2].Name())
	if !st.Success() {
		err = fmt.Errorf("git %s: %s", strings.Join(args, " "), st)
	}
	return string(out), string(errOut), err
}

// bareEnv is an environment in which git reads no configuration but its
// environment's.
func bareEnv(dir string) []string {
	return []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "LANG=C", "LC_ALL=C", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + os.DevNull, "GIT_CEILING_DIRECTORIES=" + filepath.Dir(dir), "GIT_TERMINAL_PROMPT=0"}
}

// gitConfigList is what `git config --list` shows of env's configuration,
// or git's error line.
func gitConfigList(t *testing.T, dir string, env []string) ([]configEntry, string) {
	out, stderr, err := gitIn(t, dir, append(bareEnv(dir), env...), "", "config", "--list", "-z")
	if err != nil {
		return nil, stderr
	}
	var entries []configEntry
	for _, item := range strings.Split(strings.TrimSuffix(out, "\x00"), "\x00") {
		if item == "" {
			continue
		}
		key, value, ok := strings.Cut(item, "\n")
		entries = append(entries, configEntry{Key: key, Value: value, NoValue: !ok})
	}
	return entries, ""
}

// modelCases are environments on which the model must agree with git.
var modelCases = [][]string{
	{},
	{"GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_0=A.B", "GIT_CONFIG_VALUE_0=1", "GIT_CONFIG_KEY_1=credential.https://H/x.Helper", "GIT_CONFIG_VALUE_1="},
	{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=a.b", "GIT_CONFIG_VALUE_0=first", "GIT_CONFIG_KEY_0=c.d", "GIT_CONFIG_VALUE_0=second"},
	{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_COUNT=0", "GIT_CONFIG_KEY_0=a.b", "GIT_CONFIG_VALUE_0=x"},
	{"GIT_CONFIG_KEY_3=core.x", "GIT_CONFIG_KEY_0=credential.helper", "GIT_CONFIG_VALUE_0=store"},
	{"GIT_CONFIG_COUNT=", "GIT_CONFIG_KEY_0=a.b", "GIT_CONFIG_VALUE_0=x"},
	{"GIT_CONFIG_COUNT= 1", "GIT_CONFIG_KEY_0=a.b", "GIT_CONFIG_VALUE_0=x"},
	{"GIT_CONFIG_COUNT=+1", "GIT_CONFIG_KEY_0=a.b", "GIT_CONFIG_VALUE_0=x"},
	{"GIT_CONFIG_COUNT=-0"},
	{"GIT_CONFIG_COUNT=-1"},
	{"GIT_CONFIG_COUNT=1 "},
	{"GIT_CONFIG_COUNT= "},
	{"GIT_CONFIG_COUNT=x"},
	{"GIT_CONFIG_COUNT=99999999999999999999999"},
	{"GIT_CONFIG_COUNT=2147483648"},
	{"GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_0=a.b", "GIT_CONFIG_VALUE_0=x", "GIT_CONFIG_VALUE_1=y"},
	{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=a.b"},
	{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=", "GIT_CONFIG_VALUE_0=x"},
	{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=nodot", "GIT_CONFIG_VALUE_0=x"},
	{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=.a.b", "GIT_CONFIG_VALUE_0=x"},
	{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=a.1b", "GIT_CONFIG_VALUE_0=x"},
	{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=a.b\nc.d", "GIT_CONFIG_VALUE_0=x"},
	{"GIT_CONFIG_PARAMETERS='a.b'='1' 'c.d=2'\t'e.f'= 'g.h'"},
	{"GIT_CONFIG_PARAMETERS='alias.p'=''\\!'echo'\\''s'"},
	{"GIT_CONFIG_PARAMETERS="},
	{"GIT_CONFIG_PARAMETERS= 'a.b'='1'"},
	{"GIT_CONFIG_PARAMETERS='a.b'='1' "},
	{"GIT_CONFIG_PARAMETERS='a.b'='1''c.d'='2'"},
	{"GIT_CONFIG_PARAMETERS='a.b'=1"},
	{"GIT_CONFIG_PARAMETERS='unterminated"},
	{"GIT_CONFIG_PARAMETERS='a.b'='x'\\"},
	{"GIT_CONFIG_PARAMETERS='  a.b  = v=w'"},
	{"GIT_CONFIG_PARAMETERS='='"},
	{"GIT_CONFIG_PARAMETERS=''"},
	{"GIT_CONFIG_PARAMETERS='a.b'\v'c.d'"},
	{"GIT_CONFIG_PARAMETERS='credential.helper'='store'", "GIT_CONFIG_PARAMETERS='core.x'='y'"},
	{"GIT_CONFIG_COUNT=x", "GIT_CONFIG_PARAMETERS='a.b'='1'"},
}

// randomEnv draws an environment from pieces that exercise each rule of
// the model: counts, keys and values at and beyond the count, duplicates,
// and GIT_CONFIG_PARAMETERS in both styles, quoted every way, or broken.
func randomEnv(r *rand.Rand) []string {
	pick := func(s ...string) string { return s[r.IntN(len(s))] }
	keys := []string{"a.b", "A.B-c", "a.Sub.Sec.N1", "credential.helper", "http.https://h/v1/repos/r.extraHeader", "nodot", ".a.b", "a.", "a.1", "", "a b.c", "a.b\nc", "é.b", "x.y.z"}
	values := []string{"", "v", "it's", "a=b", "'", "!x", "with space", "\ttab"}
	var env []string
	if r.IntN(4) > 0 {
		env = append(env, "GIT_CONFIG_COUNT="+pick("0", "1", "2", "3", " 2", "+2", "-0", "2 ", "x", ""))
	}
	for i := range 4 {
		if r.IntN(3) > 0 {
			env = append(env, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", i, pick(keys...)))
		}
		if r.IntN(3) > 0 {
			env = append(env, fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", i, pick(values...)))
		}
	}
	quote := func(s string) string {
		if r.IntN(8) == 0 {
			return "'" + s // broken
		}
		return "'" + strings.NewReplacer("'", `'\''`, "!", pick("!", `'\!'`)).Replace(s) + "'"
	}
	for range 2 {
		if r.IntN(2) == 0 {
			continue
		}
		var items []string
		for range r.IntN(4) {
			k, v := pick(keys...), pick(values...)
			switch r.IntN(4) {
			case 0:
				items = append(items, quote(k+"="+v))
			case 1:
				items = append(items, quote(k)+"="+quote(v))
			case 2:
				items = append(items, quote(k)+"=")
			default:
				items = append(items, quote(k))
			}
		}
		env = append(env, "GIT_CONFIG_PARAMETERS="+strings.Join(items, pick(" ", "\t", "  ", "", "\v")))
	}
	r.Shuffle(len(env), func(i, j int) { env[i], env[j] = env[j], env[i] })
	return env
}

// TestGitEnvModelIsGits checks the model of git's rules (gitenv_test.go)
// against the real git, on the cases above and on 300 drawn at random.
func TestGitEnvModelIsGits(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(17, 4))
	cases := slices.Clone(modelCases)
	for range 300 {
		cases = append(cases, randomEnv(r))
	}
	for _, env := range cases {
		want, gitErr := gitConfigList(t, dir, env)
		got, err := gitEnvConfig(env)
		switch {
		case err != nil && gitErr == "":
			t.Errorf("%q: the model says %q; git reads %q", env, err, want)
		case err == nil && gitErr != "":
			t.Errorf("%q: the model reads %q; git fails: %s", env, got, gitErr)
		case err != nil && !strings.Contains(gitErr, "error: "+err.Error()+"\n"):
			t.Errorf("%q: the model says %q; git says %q", env, err, gitErr)
		case err == nil && !slices.Equal(got, want):
			t.Errorf("%q: the model reads\n%q\ngit reads\n%q", env, got, want)
		}
	}
}

// ourEntries are the settings injectConfig adds, as git reads them.
func ourEntries(url, helper, header string) []configEntry {
	return []configEntry{
		{Key: "credential." + url + ".helper", Value: ""},
		{Key: "credential." + url + ".helper", Value: helper},
		{Key: "credential." + url + ".usehttppath", Value: "true"},
		{Key: "http." + url + ".extraheader", Value: header},
		{Key: "http." + url + ".followredirects", Value: "false"},
	}
}

// hostileEnvs try to put a helper of the user's before or after ours, or
// to shadow our entries; spy stands for a helper of the user's.
func hostileEnvs(spy string) map[string][]string {
	return map[string][]string{
		"stale GIT_CONFIG_KEY_n without a count (the issue)": {"GIT_CONFIG_KEY_3=core.x", "GIT_CONFIG_KEY_0=credential.helper", "GIT_CONFIG_VALUE_0=" + spy},
		"git -c credential.helper":                           {"GIT_CONFIG_PARAMETERS='credential.helper'='" + spy + "' 'http.extraHeader'='X-Mine: 1'"},
		"two GIT_CONFIG_PARAMETERS": {"GIT_CONFIG_PARAMETERS='http.extraHeader'='X-Mine: 1'",
			"GIT_CONFIG_PARAMETERS='credential.helper'='" + spy + "'"},
		"a count lower than the keys present": {"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0=X-Mine: 1",
			"GIT_CONFIG_KEY_1=credential.helper", "GIT_CONFIG_VALUE_1=" + spy, "GIT_CONFIG_KEY_2=core.x", "GIT_CONFIG_KEY_3=credential.helper", "GIT_CONFIG_VALUE_3=" + spy,
			"GIT_CONFIG_KEY_4=core.y", "GIT_CONFIG_VALUE_4=1"},
		"helpers for our URL and host, in both": {"GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_0=credential.https://h.example.helper", "GIT_CONFIG_VALUE_0=" + spy,
			"GIT_CONFIG_KEY_1=http.https://h.example/v1/repos/r.followRedirects", "GIT_CONFIG_VALUE_1=true",
			"GIT_CONFIG_PARAMETERS='credential.https://h.example/v1/repos/r.helper'='" + spy + "' 'credential.https://h.example/v1/repos/r.useHttpPath'='false'"},
	}
}

// TestInjectedConfigAsGitSeesIt hands the real git the environments
// injectConfig builds from hostile ones and asks git what it makes of
// them: for our URL, only our helper is asked for credentials and told
// they worked, the header is ours, redirects are not followed; and the
// user's own entries are still there.
func TestInjectedConfigAsGitSeesIt(t *testing.T) {
	dir := t.TempDir()
	const url = "https://h.example/v1/repos/r"
	ourLog, spyLog := filepath.Join(dir, "ours.log"), filepath.Join(dir, "spy.log")
	ours, spy := filepath.Join(dir, "ours"), filepath.Join(dir, "spy")
	os.WriteFile(ours, []byte("#!/bin/sh\necho \"$1\" >> "+ourLog+"\ncat > /dev/null\ntest \"$1\" = get && printf 'username=u\\npassword=p\\n'\nexit 0\n"), 0o755)
	os.WriteFile(spy, []byte("#!/bin/sh\n{ echo \"$1\"; cat; } >> "+spyLog+"\n"), 0o755)
	const header = "Authorization: Basic dTpw"
	for name, env := range hostileEnvs(spy) {
		t.Run(name, func(t *testing.T) {
			os.Remove(ourLog)
			os.Remove(spyLog)
			out := append(bareEnv(dir), injectConfig(env, url, ours, header)...)
			if _, stderr, err := gitIn(t, dir, out, "url="+url+"\n\n", "credential", "fill"); err != nil {
				t.Fatalf("%v: %s", err, stderr)
			}
			if _, stderr, err := gitIn(t, dir, out, "url="+url+"\nusername=u\npassword=p\n\n", "credential", "approve"); err != nil {
				t.Fatalf("%v: %s", err, stderr)
			}
			if b, _ := os.ReadFile(spyLog); len(b) > 0 {
				t.Errorf("the user's helper was asked or told:\n%s", b)
			}
			if b, _ := os.ReadFile(ourLog); string(b) != "get\nstore\n" {
				t.Errorf("our helper was run for %q, want get and store", b)
			}
			for key, want := range map[string]string{"http.extraheader": header, "http.followredirects": "false"} {
				if got, _, _ := gitIn(t, dir, out, "", "config", "--get-urlmatch", key, url); got != want+"\n" {
					t.Errorf("git config --get-urlmatch %s = %q, want %q", key, got, want)
				}
			}
			if strings.Contains(strings.Join(env, "\n"), "X-Mine") {
				if got, _, _ := gitIn(t, dir, out, "", "config", "--get-all", "http.extraheader"); got != "X-Mine: 1\n" {
					t.Errorf("the user's own http.extraHeader is %q, want X-Mine: 1", got)
				}
			}
		})
	}
}

// FuzzInjectConfig builds environments from the fuzzer's strings and reads
// what injectConfig makes of them with the model of git's rules: when git
// can read the environment at all, it reads exactly what it read before,
// then our entries, last (so the empty helper comes after every helper of
// anyone's, and no stale or duplicate variable shadows ours); when it
// cannot, it still cannot. Nothing but GIT_CONFIG_PARAMETERS changes, and
// that appears once.
func FuzzInjectConfig(f *testing.F) {
	for _, env := range modelCases {
		f.Add(strings.Join(env, "\x00"), "https://h/v1/repos/r", "!'/bin/x' --region 'us-east-1'")
	}
	for _, env := range hostileEnvs("/bin/spy") {
		f.Add(strings.Join(env, "\x00"), "https://h/v1/repos/r", "!f() { :; }; f")
	}
	f.Fuzz(func(t *testing.T, environ, url, helper string) {
		env := strings.Split(environ, "\x00")
		// Nothing in an environment or on git's side holds a NUL; the URL
		// is the daemon's, a valid key; the helper command is one line.
		if _, err := configPair("http."+url+".x", "", false); err != nil || strings.ContainsAny(url+helper, "\x00\n") {
			t.Skip()
		}
		const header = "Authorization: Basic dTpw"
		out := injectConfig(env, url, helper, header)

		before, errBefore := gitEnvConfig(env)
		after, errAfter := gitEnvConfig(out)
		switch {
		case errBefore != nil && errAfter == nil:
			t.Fatalf("git refuses %q (%v) but reads %q", env, errBefore, out)
		case errBefore == nil && errAfter != nil:
			t.Fatalf("git reads %q but refuses %q: %v", env, out, errAfter)
		case errBefore == nil && !slices.Equal(after, append(before, ourEntries(url, helper, header)...)):
			t.Fatalf("from %q git reads\n%q\nwant what it read before, then ours:\n%q", env, after, before)
		}
		var params int
		var rest []string
		for _, kv := range out {
			if strings.HasPrefix(kv, envConfigParameters+"=") {
				params++
			} else {
				rest = append(rest, kv)
			}
		}
		if params != 1 {
			t.Fatalf("%d GIT_CONFIG_PARAMETERS in %q", params, out)
		}
		if want := slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, envConfigParameters+"=") }); !slices.Equal(rest, want) {
			t.Fatalf("other variables changed: %q, want %q", rest, want)
		}
	})
}
