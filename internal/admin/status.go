package admin

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/codecommitd/codecommitd/internal/broker"
)

// exitNotRunning is status's exit code when no daemon runs, as systemctl's.
const exitNotRunning = 3

func newStatusCommand(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the daemon and the profiles it keeps credentials for",
		Long: `status shows the daemon (pid, uptime, socket, cache) and, per profile, the credential
source, expiry, next refresh, requests and last error. With no daemon running it says
so and exits with status 3, like systemctl; --json then prints {"running": false, …}.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := daemonStatus(cmd.Context(), g.socketPath())
			now := time.Now()
			switch {
			case err == nil && asJSON:
				return writeStatusJSON(cmd.OutOrStdout(), st, now)
			case err == nil:
				return writeStatusText(cmd.OutOrStdout(), st, now)
			case asJSON:
				out := statusJSON{Running: false, Socket: g.socketPath(), Reason: err.Error(), Profiles: []profileStatusJSON{}}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if jerr := enc.Encode(out); jerr != nil {
					return jerr
				}
				if notRunning(err) {
					return exitError{code: exitNotRunning}
				}
				return exitError{code: 1, err: err}
			case notRunning(err):
				fmt.Fprintf(cmd.OutOrStdout(), "codecommitd is not running: %v\ngit starts it when it needs it; to start it now: codecommitd start\n", err)
				return exitError{code: exitNotRunning}
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON: an object with running, pid, socket, uptime_seconds and a profiles array")
	return cmd
}

type statusJSON struct {
	Running         bool                `json:"running"`
	Reason          string              `json:"reason,omitempty"`
	PID             int                 `json:"pid,omitempty"`
	Version         string              `json:"version,omitempty"`
	Socket          string              `json:"socket"`
	StartedAt       *time.Time          `json:"started_at,omitempty"`
	UptimeSeconds   *int64              `json:"uptime_seconds,omitempty"` // set when running
	OnDemand        *bool               `json:"on_demand,omitempty"`      // set when running
	IdleExitSeconds int64               `json:"idle_exit_seconds,omitempty"`
	CachePath       string              `json:"cache_path,omitempty"`
	KeySource       string              `json:"key_source,omitempty"`
	CacheProblem    string              `json:"cache_problem,omitempty"`
	Transport       *transportJSON      `json:"transport,omitempty"`
	Profiles        []profileStatusJSON `json:"profiles"`
}

type profileStatusJSON struct {
	Profile         string     `json:"profile"`
	ConfigKey       string     `json:"config_key"`
	Source          string     `json:"source"`
	AccessKeyID     string     `json:"access_key_id,omitempty"`
	Expires         *time.Time `json:"expires,omitempty"`
	NextRefresh     *time.Time `json:"next_refresh,omitempty"`
	RefreshingSince *time.Time `json:"refreshing_since,omitempty"`
	NeedsMFA        bool       `json:"needs_mfa,omitempty"`
	OnReserve       bool       `json:"on_reserve,omitempty"`
	LastError       string     `json:"last_error,omitempty"`
	Requests        int64      `json:"requests"`
	LastUsed        *time.Time `json:"last_used,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func writeStatusJSON(w io.Writer, st *broker.Status, now time.Time) error {
	out := statusJSON{
		Running: true, PID: st.PID, Version: st.Version, Socket: st.Socket, StartedAt: optTime(st.StartedAt),
		UptimeSeconds: new(int64(now.Sub(st.StartedAt).Seconds())), OnDemand: new(st.OnDemand), IdleExitSeconds: int64(st.IdleExit.Seconds()),
		CachePath: st.CachePath, KeySource: st.KeySource, CacheProblem: st.CacheProblem,
		Transport: transportToJSON(st.Transport, now), Profiles: []profileStatusJSON{},
	}
	for _, p := range st.Profiles {
		out.Profiles = append(out.Profiles, profileStatusJSON{
			Profile: p.Profile, ConfigKey: p.ConfigKey, Source: p.Source, AccessKeyID: p.AccessKeyID,
			Expires: optTime(p.Expires), NextRefresh: optTime(p.NextRefresh), RefreshingSince: optTime(p.RefreshingSince),
			NeedsMFA: p.NeedsMFA, OnReserve: p.OnReserve, LastError: p.LastError,
			Requests: p.Requests, LastUsed: optTime(p.LastUsed),
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeStatusText(w io.Writer, st *broker.Status, now time.Time) error {
	fmt.Fprintf(w, "codecommitd %s, pid %d, up %s\n", st.Version, st.PID, now.Sub(st.StartedAt).Round(time.Second))
	fmt.Fprintf(w, "socket: %s\n", st.Socket)
	if st.OnDemand {
		if st.IdleExit > 0 {
			fmt.Fprintf(w, "started on demand: stops after %s without a request\n", st.IdleExit)
		} else {
			fmt.Fprintln(w, "started on demand: runs until stopped")
		}
	}
	switch {
	case st.CachePath != "" && st.CacheProblem != "":
		fmt.Fprintf(w, "cache:  %s (%s)\n", st.CachePath, st.CacheProblem)
	case st.CachePath != "":
		fmt.Fprintf(w, "cache:  %s (key from %s)\n", st.CachePath, st.KeySource)
	default:
		fmt.Fprintln(w, "cache:  memory only")
	}
	if err := writeTransportText(w, st.Transport, now); err != nil {
		return err
	}
	if len(st.Profiles) == 0 {
		fmt.Fprintln(w, "no profiles used yet")
		return nil
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "\nPROFILE\tSOURCE\tEXPIRES\tNEXT REFRESH\tREQUESTS\tSTATE")
	rel := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		if d := t.Sub(now).Round(time.Second); d >= 0 {
			return "in " + d.String()
		}
		return "expired"
	}
	for _, p := range st.Profiles {
		state := "ok"
		switch {
		case p.NeedsMFA:
			state = "needs MFA: the next git command in a terminal asks for a code"
		case !p.RefreshingSince.IsZero() && now.Sub(p.RefreshingSince) > 2*time.Second:
			state = fmt.Sprintf("refreshing for %s", now.Sub(p.RefreshingSince).Round(time.Second))
			if p.LastError != "" {
				state += "; last error: " + p.LastError
			}
		case p.OnReserve:
			state = "running on its reserve (refreshing fails): " + p.LastError
		case p.LastError != "":
			state = p.LastError
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", p.Profile, p.Source, rel(p.Expires), rel(p.NextRefresh), p.Requests, state)
	}
	return tw.Flush()
}
