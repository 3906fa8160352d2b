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
source, expiry, next refresh, requests and last error; then each IAM Identity Center
(SSO) session used in the last 24 hours, which the daemon keeps signed in: its start
URL, its token's expiry, the session's end where known, the next refresh and the last
error. With no daemon running it says so and exits with status 3, like systemctl;
--json then prints {"running": false, …}.`,
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
				out := statusJSON{Running: false, Socket: g.socketPath(), Reason: err.Error(), Profiles: []profileStatusJSON{}, SSOSessions: []ssoSessionJSON{}}
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
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON: an object with running, pid, socket, uptime_seconds, a profiles array and an sso_sessions array")
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
	SSOSessions     []ssoSessionJSON    `json:"sso_sessions"`
}

// ssoSessionJSON is one IAM Identity Center session the daemon keeps.
type ssoSessionJSON struct {
	Session     string     `json:"session"`
	Name        string     `json:"sso_session,omitempty"`
	StartURL    string     `json:"start_url"`
	Region      string     `json:"region"`
	TokenFile   string     `json:"token_file"`
	Expires     *time.Time `json:"expires,omitempty"`
	SessionEnds *time.Time `json:"session_ends,omitempty"`
	Renewable   bool       `json:"renewable"`
	NextRefresh *time.Time `json:"next_refresh,omitempty"`
	LastRefresh *time.Time `json:"last_refresh,omitempty"`
	Refreshes   int        `json:"refreshes"`
	LastUsed    *time.Time `json:"last_used,omitempty"`
	SigningIn   bool       `json:"signing_in,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
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
		Transport: transportToJSON(st.Transport, now), Profiles: []profileStatusJSON{}, SSOSessions: []ssoSessionJSON{},
	}
	for _, x := range st.SSOSessions {
		out.SSOSessions = append(out.SSOSessions, ssoSessionJSON{
			Session: x.Session, Name: x.Name, StartURL: x.StartURL, Region: x.Region, TokenFile: x.TokenFile,
			Expires: optTime(x.Expires), SessionEnds: optTime(x.SessionEnds), Renewable: x.Renewable, NextRefresh: optTime(x.NextRefresh),
			LastRefresh: optTime(x.LastRefresh), Refreshes: x.Refreshes, LastUsed: optTime(x.LastUsed), SigningIn: x.SigningIn, LastError: x.LastError,
		})
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
		return writeSSOText(w, st.SSOSessions, now)
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "\nPROFILE\tSOURCE\tEXPIRES\tNEXT REFRESH\tREQUESTS\tSTATE")
	rel := func(t time.Time) string { return relative(t, now) }
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
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeSSOText(w, st.SSOSessions, now)
}

// relative is t from now, for people: "in 5m0s", "expired", or "-"; a
// day or more away, its date ("on 2026-03-31").
func relative(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	switch {
	case t.IsZero():
		return "-"
	case d >= 24*time.Hour:
		return "on " + t.Local().Format("2006-01-02")
	case d >= 0:
		return "in " + d.String()
	}
	return "expired"
}

// writeSSOText writes the IAM Identity Center sessions the daemon keeps:
// each with its start URL, its token's expiry, the session's end where
// known, the next refresh and what is wrong, if anything.
func writeSSOText(w io.Writer, sessions []broker.SSOSessionStatus, now time.Time) error {
	if len(sessions) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "\nSSO SESSION\tSTART URL\tTOKEN EXPIRES\tSESSION ENDS\tNEXT REFRESH\tSTATE")
	for _, x := range sessions {
		name := x.Name
		if name == "" {
			name = x.Session // a legacy profile's
		}
		state := fmt.Sprintf("ok, renewed %d times", x.Refreshes)
		switch {
		case x.SigningIn:
			state = "signing in: a git process shows the sign-in"
		case x.LastError != "":
			state = x.LastError
		case !x.Renewable:
			state = "ok, not renewable: sign in again when it expires"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, x.StartURL, relative(x.Expires, now), relative(x.SessionEnds, now), relative(x.NextRefresh, now), state)
	}
	return tw.Flush()
}
