package admin

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/broker"
)

func newStatusCommand(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the daemon and the profiles it keeps credentials for",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client.Dial(g.socketPath())
			if err != nil {
				return err
			}
			defer c.Close()
			st, err := c.Status(cmd.Context())
			if err != nil {
				return fmt.Errorf("no daemon answers on %s (%w); start it with `codecommitd start` or `codecommitd run`", g.socketPath(), err)
			}
			if asJSON {
				return writeStatusJSON(cmd.OutOrStdout(), st, time.Now())
			}
			return writeStatusText(cmd.OutOrStdout(), st, time.Now())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON: an object with pid, socket, uptime_seconds and a profiles array")
	return cmd
}

type statusJSON struct {
	PID           int                 `json:"pid"`
	Version       string              `json:"version"`
	Socket        string              `json:"socket"`
	StartedAt     time.Time           `json:"started_at"`
	UptimeSeconds int64               `json:"uptime_seconds"`
	CachePath     string              `json:"cache_path"`
	KeySource     string              `json:"key_source"`
	CacheProblem  string              `json:"cache_problem,omitempty"`
	Profiles      []profileStatusJSON `json:"profiles"`
}

type profileStatusJSON struct {
	Profile     string     `json:"profile"`
	ConfigKey   string     `json:"config_key"`
	Source      string     `json:"source"`
	AccessKeyID string     `json:"access_key_id,omitempty"`
	Expires     *time.Time `json:"expires,omitempty"`
	NextRefresh *time.Time `json:"next_refresh,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	Requests    int64      `json:"requests"`
	LastUsed    *time.Time `json:"last_used,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func writeStatusJSON(w io.Writer, st *broker.Status, now time.Time) error {
	out := statusJSON{
		PID: st.PID, Version: st.Version, Socket: st.Socket, StartedAt: st.StartedAt,
		UptimeSeconds: int64(now.Sub(st.StartedAt).Seconds()), CachePath: st.CachePath, KeySource: st.KeySource, CacheProblem: st.CacheProblem,
		Profiles: []profileStatusJSON{},
	}
	for _, p := range st.Profiles {
		out.Profiles = append(out.Profiles, profileStatusJSON{
			Profile: p.Profile, ConfigKey: p.ConfigKey, Source: p.Source, AccessKeyID: p.AccessKeyID,
			Expires: optTime(p.Expires), NextRefresh: optTime(p.NextRefresh), LastError: p.LastError,
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
	if st.CachePath != "" {
		fmt.Fprintf(w, "cache:  %s (key from %s)\n", st.CachePath, st.KeySource)
	} else {
		fmt.Fprintln(w, "cache:  memory only")
	}
	if len(st.Profiles) == 0 {
		fmt.Fprintln(w, "no profiles used yet")
		return nil
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "\nPROFILE\tSOURCE\tEXPIRES\tNEXT REFRESH\tREQUESTS\tLAST ERROR")
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
		lastErr := p.LastError
		if lastErr == "" {
			lastErr = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", p.Profile, p.Source, rel(p.Expires), rel(p.NextRefresh), p.Requests, lastErr)
	}
	return tw.Flush()
}
