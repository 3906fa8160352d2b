//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/codecommitd/codecommitd/daemon"
	"github.com/codecommitd/codecommitd/internal/testenv"
)

// envWatcher makes this program a watcher process of scenario (7):
// "socket,n" holds n connections to socket, each asking for a health Watch.
const envWatcher = "CHAOS_WATCHER"

// heldStreams is scenario (7): more connections than the daemon admits,
// each holding a health Watch (and asking again, a second after one ends
// or is refused), first all from this process, then from 8 processes;
// meanwhile git operations must be served by the daemon (no fallback) as
// fast as without them.
func heldStreams(ctx context.Context, bin string) (bool, error) {
	const rounds = 5
	const conns = daemon.MaxConnections + 64
	e, err := testenv.Temp(bin, "dev")
	if err != nil {
		return false, err
	}
	defer e.Close()
	if err := e.StartDaemon(ctx, "--log-level", "warn"); err != nil {
		return false, err
	}
	failed, fellBack := 0, 0
	ops := func() []time.Duration {
		var took []time.Duration
		for range rounds {
			start := time.Now()
			ok, fb, _ := lsRemote(ctx, e)
			took = append(took, time.Since(start))
			if !ok {
				failed++
			}
			if fb {
				fellBack++
			}
		}
		return took
	}
	ops() // warm
	normal := ops()

	wctx, stopWatching := context.WithCancel(ctx)
	open, asked := holdWatches(wctx, e.Socket, conns)
	<-asked
	held1 := open.Load()
	oneProcess := ops()
	stopWatching()

	const procs = 8
	var children []*exec.Cmd
	defer func() {
		for _, c := range children {
			c.Process.Signal(syscall.SIGTERM)
			c.Wait()
		}
	}()
	held8 := 0
	for range procs {
		c, held, err := startWatcher(ctx, e.Socket, conns/procs)
		if err != nil {
			return false, err
		}
		children = append(children, c)
		held8 += held
	}
	manyProcesses := ops()

	slow := func(d []time.Duration) bool { return median(d) > median(normal)+250*time.Millisecond }
	pass := failed == 0 && fellBack == 0 && !slow(oneProcess) && !slow(manyProcesses)
	fmt.Printf("    connections asking for a Watch                    %d (the daemon admits %d)\n", conns, daemon.MaxConnections)
	fmt.Printf("    git operations                                    %d\n", 3*rounds)
	fmt.Printf("    failed / resolved in-process                      %d / %d  (want 0 / 0)%s\n", failed, fellBack, mark(failed == 0 && fellBack == 0))
	fmt.Printf("    s per operation, no watchers                      %s\n", seconds(normal))
	fmt.Printf("    … from one process (%3d streams held)             %s%s\n", held1, seconds(oneProcess), mark(!slow(oneProcess)))
	fmt.Printf("    … from %d processes (%3d streams held)             %s%s\n", procs, held8, seconds(manyProcesses), mark(!slow(manyProcesses)))
	return pass, nil
}

// holdWatches opens n connections to socket, each holding a health Watch
// and asking again a second after it ends, until ctx ends. It returns the
// number of streams open, and a channel closed once every connection has
// had its first answer.
func holdWatches(ctx context.Context, socket string, n int) (*atomic.Int32, <-chan struct{}) {
	var open atomic.Int32
	var first sync.WaitGroup
	for range n {
		conn, err := grpc.NewClient("passthrough:///d", grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", socket)
			}))
		if err != nil {
			continue
		}
		first.Add(1)
		go func() {
			defer conn.Close()
			answered := sync.OnceFunc(first.Done)
			defer answered()
			h := healthpb.NewHealthClient(conn)
			for ctx.Err() == nil {
				if s, err := h.Watch(ctx, &healthpb.HealthCheckRequest{}); err == nil {
					if _, err := s.Recv(); err == nil {
						open.Add(1)
						answered()
						for err == nil {
							_, err = s.Recv()
						}
						open.Add(-1)
					}
				}
				answered()
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}()
	}
	asked := make(chan struct{})
	go func() { first.Wait(); close(asked) }()
	return &open, asked
}

// startWatcher starts this program as a watcher process holding n
// connections to socket, and returns once they have asked, with the
// number of streams they hold.
func startWatcher(ctx context.Context, socket string, n int) (*exec.Cmd, int, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, 0, err
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), envWatcher+"="+socket+","+strconv.Itoa(n))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, err
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	held, perr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || perr != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, 0, fmt.Errorf("watcher process: %q %v", line, err)
	}
	return cmd, held, nil
}

// watcherMain is a watcher process: it holds the connections envWatcher
// asks for, prints how many streams it holds once all have asked, and
// stops on SIGTERM.
func watcherMain(spec string) {
	i := strings.LastIndexByte(spec, ',')
	n, err := strconv.Atoi(spec[i+1:])
	if i < 0 || err != nil {
		fmt.Fprintf(os.Stderr, "chaos: %s=%q, want socket,connections\n", envWatcher, spec)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	open, asked := holdWatches(ctx, spec[:i], n)
	<-asked
	fmt.Println(open.Load())
	<-ctx.Done()
}
