//go:build unix

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/codecommitd/codecommitd/internal/fakests"
	"github.com/codecommitd/codecommitd/internal/gitserver"
	"github.com/codecommitd/codecommitd/internal/testenv"
	"github.com/codecommitd/codecommitd/internal/testprobe"
	codecommitdv1 "github.com/codecommitd/codecommitd/proto/codecommitd/v1"
)

// roleEnv is a world whose "dev" profile assumes a role from static keys;
// opts set how its git stand-in speaks HTTP.
func roleEnv(t *testing.T, opts ...gitserver.Option) (*testenv.Env, string) {
	e := newEnv(t, opts...)
	u := e.STS.AddUser("alice")
	role := e.STS.AddRole(fakests.Role{ARN: "Dev"})
	if err := e.WriteAWS("[profile base]\n[profile dev]\nrole_arn = "+role+"\nsource_profile = base\nregion = us-east-1\n",
		"[base]\naws_access_key_id = "+u.AccessKeyID+"\naws_secret_access_key = "+u.SecretAccessKey+"\n"); err != nil {
		t.Fatal(err)
	}
	if err := e.Seed(ctx(t), "repo"); err != nil {
		t.Fatal(err)
	}
	return e, role
}

func TestConcurrentColdCallersMakeOneSTSCall(t *testing.T) {
	e, _ := roleEnv(t)
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	// A slow STS makes the 32 callers overlap the one refresh.
	e.STS.SetLatency(300 * time.Millisecond)
	var wg sync.WaitGroup
	errs := make(chan string, 32)
	for i := range 32 {
		wg.Go(func() {
			_, stderr, err := e.Run(ctx(t), "", "git", "ls-remote", "codecommit://dev@repo")
			if err != nil {
				errs <- fmt.Sprintf("caller %d: %v: %s", i, err, stderr)
			}
		})
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	if n := e.STS.Calls("AssumeRole"); n != 1 {
		t.Fatalf("AssumeRole calls = %d, want exactly 1 for 32 concurrent cold callers", n)
	}
}

func TestAutostartAndFallback(t *testing.T) {
	e, _ := roleEnv(t)
	// No daemon yet: the helper starts one.
	_, stderr, err := e.Run(ctx(t), "", "git", "ls-remote", "codecommit://dev@repo")
	if err != nil {
		t.Fatalf("first call: %v\n%s", err, stderr)
	}
	if strings.Contains(stderr, "resolving in this process") {
		t.Fatalf("first call fell back instead of autostarting:\n%s", stderr)
	}
	pid := e.DaemonPID()
	if pid == 0 {
		t.Fatal("no daemon was autostarted")
	}
	// Killed mid-way: the next call starts another.
	syscall.Kill(pid, syscall.SIGKILL)
	e.StopDaemon() // waits until the killed daemon's lock is released
	_, stderr, err = e.Run(ctx(t), "", "git", "ls-remote", "codecommit://dev@repo")
	if err != nil || strings.Contains(stderr, "resolving in this process") {
		t.Fatalf("call after kill -9: %v\n%s", err, stderr)
	}
	if p := e.DaemonPID(); p == 0 || p == pid {
		t.Fatalf("daemon pid after restart = %d (was %d)", p, pid)
	}
	e.StopDaemon()
	if _, err := os.Stat(e.Socket); !os.IsNotExist(err) {
		t.Errorf("socket left behind after SIGTERM: %v", err)
	}
	// Autostart off and no daemon: resolved in-process, with a note.
	e.Extra = []string{"CODECOMMITD_AUTOSTART=0"}
	_, stderr, err = e.Run(ctx(t), "", "git", "ls-remote", "codecommit://dev@repo")
	if err != nil {
		t.Fatalf("fallback call: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "resolving in this process") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
		t.Errorf("fallback note = %q, want one line", stderr)
	}
	if e.DaemonPID() != 0 {
		if _, err := net.Dial("unix", e.Socket); err == nil {
			t.Error("a daemon was started although CODECOMMITD_AUTOSTART=0")
		}
	}
}

func TestSocketOwnership(t *testing.T) {
	e, _ := roleEnv(t)
	// A stale socket file (a daemon that died without cleaning up).
	if err := os.MkdirAll(filepath.Dir(e.Socket), 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", e.Socket)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatalf("daemon refused to replace a stale socket: %v", err)
	}
	fi, err := os.Stat(e.Socket)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if di, _ := os.Stat(filepath.Dir(e.Socket)); di.Mode().Perm() != 0o700 {
		t.Errorf("socket directory mode = %v, want 0700", di.Mode().Perm())
	}
	// A second daemon on the same socket refuses and leaves the first alone.
	_, stderr, err := e.Run(ctx(t), "", filepath.Join(bin, "codecommitd"), "run")
	if err == nil || !strings.Contains(stderr, "already running") {
		t.Fatalf("second daemon: %v, %q; want a refusal saying it is already running", err, stderr)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
}

// TestHelperRawStatus is not a test: TestOtherUserIsRefused runs the test
// binary as another user to call the daemon directly, past the client's own
// refusal to use a socket folder that is not its user's.
func TestHelperRawStatus(t *testing.T) {
	sock := os.Getenv("RAW_STATUS_SOCKET")
	if sock == "" {
		t.Skip("only runs as the child of TestOtherUserIsRefused")
	}
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = codecommitdv1.NewBrokerServiceClient(conn).GetStatus(context.Background(), &codecommitdv1.GetStatusRequest{})
	fmt.Println("RESULT", status.Code(err), status.Convert(err).Message())
}

func TestOtherUserIsRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another user")
	}
	e, _ := roleEnv(t)
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	// Open the socket up, as a careless admin might, and copy a client
	// where nobody can run it.
	pub := testprobe.ShortDir(t)
	testprobe.RequireOthersCanEnter(t, pub)
	for _, p := range []string{pub, e.Dir, filepath.Dir(e.Socket)} {
		os.Chmod(p, 0o755)
	}
	os.Chmod(e.Socket, 0o666)
	exe := filepath.Join(pub, "e2e.test")
	data, _ := os.ReadFile(os.Args[0])
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestHelperRawStatus$", "-test.v")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Env = []string{"HOME=/", "RAW_STATUS_SOCKET=" + e.Socket}
	cmd.Dir = pub
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "RESULT PermissionDenied") || !strings.Contains(string(out), "serves only its own user (uid 0)") ||
		!strings.Contains(string(out), "uid 65534") {
		t.Fatalf("client as nobody:\n%s\nwant PermissionDenied naming both uids", out)
	}
	if log := e.DaemonLog(); !strings.Contains(log, "request refused") || !strings.Contains(log, "uid=65534") {
		t.Errorf("refusal not in the audit log:\n%s", log)
	}
	// Our own client refuses such an open folder before connecting.
	_, stderr, err := e.Run(ctx(t), "", "codecommitd", "status")
	if err == nil || !strings.Contains(stderr, "open to other users") {
		t.Errorf("status through an open folder: %v %s", err, stderr)
	}
}

func TestStatusAuditHealthAndSignURL(t *testing.T) {
	e, role := roleEnv(t)
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	git(t, e, "", "ls-remote", "codecommit://dev@repo")

	out, stderr, err := e.Run(ctx(t), "", "codecommitd", "status", "--json")
	if err != nil {
		t.Fatalf("status: %v %s", err, stderr)
	}
	var st struct {
		PID      int `json:"pid"`
		Profiles []struct {
			Profile  string    `json:"profile"`
			Source   string    `json:"source"`
			Requests int64     `json:"requests"`
			Expires  time.Time `json:"expires"`
		} `json:"profiles"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json is not JSON: %v\n%s", err, out)
	}
	// Each git operation makes one request: the remote helper's, whose
	// password git sends from its first request on.
	if st.PID != e.DaemonPID() || len(st.Profiles) != 1 || st.Profiles[0].Profile != "dev" ||
		st.Profiles[0].Requests != 2 || !strings.Contains(st.Profiles[0].Source, role) || time.Until(st.Profiles[0].Expires) < 50*time.Minute {
		t.Errorf("status = %+v", st)
	}
	text, _, _ := e.Run(ctx(t), "", "codecommitd", "status")
	if !strings.Contains(text, "dev") || !strings.Contains(text, e.Socket) {
		t.Errorf("status text lacks the profile or socket:\n%s", text)
	}

	// The audit log names the caller's pid, uid and executable.
	log := e.DaemonLog()
	if !strings.Contains(log, "peer.pid=") || !strings.Contains(log, "peer.exe=") ||
		!strings.Contains(log, "git-remote-codecommit") || !strings.Contains(log, "repository=repo") {
		t.Errorf("audit log lacks caller details:\n%s", log)
	}
	for _, id := range e.STS.Issued() {
		if strings.Contains(log, id.SecretAccessKey) || strings.Contains(log, id.SessionToken) {
			t.Fatal("the daemon log contains a secret")
		}
	}

	// Health, for grpcurl -unix and service managers.
	conn, err := grpc.NewClient("unix://"+e.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	h, err := healthpb.NewHealthClient(conn).Check(ctx(t), &healthpb.HealthCheckRequest{Service: "codecommitd.v1.BrokerService"})
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health = %v, %v", h, err)
	}

	// Reflection, so grpcurl -unix can list and call the service.
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("reflection: %v", err)
	}
	var services []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		services = append(services, s.GetName())
	}
	if !slices.Contains(services, "codecommitd.v1.BrokerService") {
		t.Errorf("reflection lists %v", services)
	}

	// sign-url prints a URL git can use directly.
	signed, stderr, err := e.Run(ctx(t), "", "codecommitd", "sign-url", "codecommit::us-east-1://dev@repo")
	if err != nil {
		t.Fatalf("sign-url: %v %s", err, stderr)
	}
	signed = strings.TrimSpace(signed)
	if !strings.HasPrefix(signed, "https://ASIA") || !strings.Contains(signed, "@"+e.Git.Host+"/v1/repos/repo") {
		t.Fatalf("sign-url printed %q", signed)
	}
	git(t, e, "", "ls-remote", signed)
}

func TestConfigEditsTakeEffectAndForget(t *testing.T) {
	e, _ := roleEnv(t)
	other := e.STS.AddRole(fakests.Role{ARN: "Other"})
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	cfg, _ := os.ReadFile(filepath.Join(e.Home, ".aws", "config"))
	edited := strings.Replace(string(cfg), "role/Dev", "role/Other", 1)
	if err := os.WriteFile(filepath.Join(e.Home, ".aws", "config"), []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	reqs := e.Git.Requests()
	if p := reqs[len(reqs)-1].Principal; !strings.Contains(p, ":assumed-role/Other/") {
		t.Fatalf("after editing role_arn to %s the request was signed by %s", other, p)
	}
	calls := e.STS.Calls("AssumeRole")
	out, stderr, err := e.Run(ctx(t), "", "codecommitd", "forget", "dev")
	if err != nil || !strings.Contains(out, "forgot 2") {
		t.Fatalf("forget dev: %q %v %s", out, err, stderr)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	if n := e.STS.Calls("AssumeRole"); n != calls+1 {
		t.Fatalf("AssumeRole calls after forget = %d, want %d", n, calls+1)
	}
}

func TestSIGHUPRereadsConfigAndDaemonIsHardened(t *testing.T) {
	e, _ := roleEnv(t)
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	// An edit the daemon cannot see by itself: same size, same mtime, same
	// inode (written in place). SIGHUP makes it read the files again.
	path := filepath.Join(e.Home, ".aws", "config")
	fi, _ := os.Stat(path)
	old, _ := os.ReadFile(path)
	f, _ := os.OpenFile(path, os.O_WRONLY, 0)
	f.WriteAt([]byte(strings.Replace(string(old), "region = us-east-1", "region = xx-east-9", 1)), 0)
	f.Close()
	os.Chtimes(path, fi.ModTime(), fi.ModTime())
	_, stderr, _ := e.Run(ctx(t), "", "git", "ls-remote", "codecommit://dev@repo")
	if strings.Contains(stderr, "xx-east-9") {
		t.Skip("the file system reported the in-place edit; nothing left for SIGHUP to prove")
	}
	syscall.Kill(e.DaemonPID(), syscall.SIGHUP)
	// The daemon logs once it has flushed; wait for that line.
	waitUntil(t, "the daemon logs the SIGHUP", func() bool { return strings.Contains(e.DaemonLog(), "SIGHUP") })
	_, stderr, _ = e.Run(ctx(t), "", "git", "ls-remote", "codecommit://dev@repo")
	if !strings.Contains(stderr, "warning: region xx-east-9") {
		t.Errorf("after SIGHUP the daemon still uses the old config:\n%s", stderr)
	}

	// Hardening: no core files, private umask.
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", e.DaemonPID()))
	limits, _ := os.ReadFile(fmt.Sprintf("/proc/%d/limits", e.DaemonPID()))
	if !regexp.MustCompile(`Max core file size\s+0\s+0`).Match(limits) {
		t.Errorf("core files are not disabled:\n%s", limits)
	}
	if m := regexp.MustCompile(`Umask:\s+(\d+)`).FindSubmatch(status); m != nil && string(m[1]) != "0077" {
		t.Errorf("daemon umask = %s, want 0077", m[1])
	}
}

// TestStartStopStatusWithoutAServiceManager uses the life-cycle commands
// where no service manager runs (a container, CI): start starts the daemon
// as git would, status reports it, stop stops it by its pid, and status
// then says it is not running, with systemctl's exit status.
func TestStartStopStatusWithoutAServiceManager(t *testing.T) {
	e, _ := roleEnv(t)
	status := func() (string, int) {
		cmd := e.Command(ctx(t), "", "codecommitd", "status")
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	if out, code := status(); code != 3 || !strings.HasPrefix(out, "codecommitd is not running: no daemon answers on "+e.Socket+" (the daemon is not running)") {
		t.Fatalf("status with no daemon: exit %d\n%s", code, out)
	}
	out, _, _ := e.Run(ctx(t), "", "codecommitd", "status", "--json")
	var st struct {
		Running bool   `json:"running"`
		Socket  string `json:"socket"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Running || st.Socket != e.Socket {
		t.Fatalf("status --json with no daemon: %v\n%s", err, out)
	}

	out, stderr, err := e.Run(ctx(t), "", "codecommitd", "start")
	if err != nil || !strings.Contains(out, "started codecommitd (pid ") || !strings.Contains(out, "8h0m0s without a request") {
		t.Fatalf("start: %v\n%s%s", err, out, stderr)
	}
	pid := e.DaemonPID()
	if out, code := status(); code != 0 || !strings.Contains(out, "started on demand") {
		t.Fatalf("status after start: exit %d\n%s", code, out)
	}
	if out, _, _ := e.Run(ctx(t), "", "codecommitd", "start"); !strings.Contains(out, "already running") {
		t.Errorf("second start: %s", out)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")

	out, stderr, err = e.Run(ctx(t), "", "codecommitd", "stop")
	if err != nil || out != fmt.Sprintf("stopped codecommitd (pid %d, started on demand)\n", pid) {
		t.Fatalf("stop: %v\n%s%s", err, out, stderr)
	}
	for _, left := range []string{e.Socket, e.Socket + ".lock"} {
		if _, err := os.Lstat(left); err == nil {
			t.Errorf("%s is left behind after a clean stop", left)
		}
	}
	if out, _, _ := e.Run(ctx(t), "", "codecommitd", "stop"); out != "codecommitd is not running\n" {
		t.Errorf("stop with nothing running: %q", out)
	}
}

// TestRestartWhileARequestIsUnderWay restarts a daemon git started while
// one of its requests waits on STS: the request finishes, restart returns
// only once the old daemon is gone, and the new one keeps its socket and
// lock (the old one, finishing its shutdown, takes neither away).
func TestRestartWhileARequestIsUnderWay(t *testing.T) {
	e, _ := roleEnv(t)
	if out, stderr, err := e.Run(ctx(t), "", "codecommitd", "start"); err != nil {
		t.Fatalf("start: %v\n%s%s", err, out, stderr)
	}
	old := e.DaemonPID()
	arrived, proceed := make(chan struct{}, 1), make(chan struct{})
	e.STS.OnCall(func(string) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-proceed
	})
	var gitErr bytes.Buffer
	fetch := e.Command(ctx(t), "", "git", "ls-remote", "codecommit://dev@repo")
	fetch.Stderr = &gitErr
	if err := fetch.Start(); err != nil {
		t.Fatal(err)
	}
	<-arrived // the daemon waits on STS for git's request
	var restartOut bytes.Buffer
	restart := e.Command(ctx(t), "", "codecommitd", "restart")
	restart.Stdout, restart.Stderr = &restartOut, &restartOut
	if err := restart.Start(); err != nil {
		t.Fatal(err)
	}
	// The old daemon drains: its socket goes first, the request goes on.
	waitUntil(t, "the old daemon removes its socket", func() bool {
		_, err := os.Lstat(e.Socket)
		return err != nil
	})
	restarted := make(chan error, 1)
	go func() { restarted <- restart.Wait() }()
	// restart must wait for the old daemon, which waits for the request.
	select {
	case <-restarted:
		t.Errorf("restart went on while the old daemon still served a request:\n%s", restartOut.String())
	case <-time.After(300 * time.Millisecond):
	}
	close(proceed)
	if err := fetch.Wait(); err != nil {
		t.Errorf("the request under way failed: %v\n%s", err, gitErr.String())
	}
	if err := <-restarted; err != nil {
		t.Fatalf("restart: %v\n%s", err, restartOut.String())
	}
	if !strings.Contains(restartOut.String(), fmt.Sprintf("stopped codecommitd (pid %d, started on demand)\n", old)) || !strings.Contains(restartOut.String(), "started codecommitd (pid ") {
		t.Errorf("restart said:\n%s", restartOut.String())
	}
	if alive(old) {
		t.Errorf("restart returned while the old daemon (pid %d) still ran", old)
	}
	for _, p := range []string{e.Socket, e.Socket + ".lock"} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("the new daemon lost its %s: %v", filepath.Base(p), err)
		}
	}
	cmd := e.Command(ctx(t), "", "codecommitd", "status")
	out, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 0 || !strings.Contains(string(out), fmt.Sprintf("pid %d", e.DaemonPID())) {
		t.Errorf("status after restart: exit %d\n%s", cmd.ProcessState.ExitCode(), out)
	}
	if _, stderr, err := e.Run(ctx(t), "", "git", "ls-remote", "codecommit://dev@repo"); err != nil || strings.Contains(stderr, "resolving in this process") {
		t.Errorf("git after restart did not use the new daemon: %v\n%s", err, stderr)
	}
}

// alive reports whether process pid runs (a zombie, exited but not yet
// reaped by whoever inherited it, does not).
func alive(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no /proc here: kill's word
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(after, "Z")
}

// TestAStuckDaemon stops the daemon with SIGSTOP (as Ctrl-Z or a debugger
// does): status says it does not answer, with the pid the kernel gives and
// the fix, and codecommitd restart, which that fix names, resumes it so it
// stops cleanly, and starts a new one that serves git.
func TestAStuckDaemon(t *testing.T) {
	e, _ := roleEnv(t)
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	pid := e.DaemonPID()
	syscall.Kill(pid, syscall.SIGSTOP)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
	// SIGSTOP is queued; the daemon stops when it is next scheduled.
	waitUntil(t, "the daemon stops on SIGSTOP", func() bool { return testprobe.Stopped(pid) })

	cmd := e.Command(ctx(t), "", "codecommitd", "status", "--json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Run()
	var st struct {
		Running bool   `json:"running"`
		Reason  string `json:"reason"`
	}
	want := fmt.Sprintf("the daemon on %s (pid %d) does not answer (stopped or stuck); kill -CONT %d if you stopped it, else codecommitd restart (or kill %d)", e.Socket, pid, pid, pid)
	if err := json.Unmarshal(stdout.Bytes(), &st); err != nil || st.Running || st.Reason != want {
		t.Errorf("status --json: %v\n%s\nwant reason %q", err, stdout.String(), want)
	}
	if code := cmd.ProcessState.ExitCode(); code != 1 || stderr.String() != "codecommitd: "+want+"\n" {
		t.Errorf("status --json: exit %d (want 1, not 3: something runs), stderr %q", code, stderr.String())
	}

	// forget says the same, once, not "no daemon answers" and then that
	// the cache is held by another daemon, which is this one.
	out, stderrF, err := e.Run(ctx(t), "", "codecommitd", "forget", "--all")
	if err == nil || out != "" || stderrF != "codecommitd: "+want+"\n" {
		t.Errorf("forget --all: %v, stdout %q, stderr\n got: %q\nwant: %q", err, out, stderrF, "codecommitd: "+want+"\n")
	}

	out, stderr2, err := e.Run(ctx(t), "", "codecommitd", "restart")
	wantOut := fmt.Sprintf("codecommitd (pid %d) was stopped (Ctrl-Z, kill -STOP or a debugger); resumed it so it could stop\nstopped codecommitd (pid %d)\nstarted codecommitd (pid ", pid, pid)
	if err != nil || !strings.HasPrefix(out, wantOut) {
		t.Errorf("restart: %v\n%s%s\nwant it to begin\n%s", err, out, stderr2, wantOut)
	}
	if alive(pid) {
		t.Errorf("restart returned while pid %d still ran", pid)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
}
