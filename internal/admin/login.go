package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/awsprofile"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/sso"
)

// sessionFlags name the IAM Identity Center session of login and logout,
// as `aws sso login` takes it.
type sessionFlags struct {
	profile, session string
}

func (f *sessionFlags) register(cmd *cobra.Command, verb string) {
	cmd.Flags().StringVar(&f.profile, "profile", "", "the profile whose SSO session to "+verb+" (default $AWS_PROFILE, else default)")
	cmd.Flags().StringVar(&f.session, "sso-session", "", "the [sso-session NAME] of ~/.aws/config to "+verb)
	cmd.MarkFlagsMutuallyExclusive("profile", "sso-session")
}

// signIn is what login and logout work with: the session the flags name,
// in this process's AWS configuration (AWS_CONFIG_FILE, AWS_PROFILE,
// HOME), the client of its token files, and the resolver that found it.
type signIn struct {
	s      sso.Session
	tokens *sso.Client
	r      *awsprofile.Resolver
	env    map[string]string
}

func (f *sessionFlags) resolve(ctx context.Context) (*signIn, error) {
	in := &signIn{r: &awsprofile.Resolver{}, env: broker.Environ(os.LookupEnv)}
	if err := in.r.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	var err error
	if in.s, err = in.r.SSOSession(ctx, f.profile, f.session, in.env); err != nil {
		return nil, err
	}
	in.tokens, err = awsprofile.NewSSOClient(ctx, nil, nil)
	return in, err
}

func newLoginCommand(g *globals) *cobra.Command {
	var f sessionFlags
	var o sso.LoginOptions
	cmd := &cobra.Command{
		Use:   "login [--profile P | --sso-session S] [--use-device-code] [--no-browser]",
		Short: "Sign in to IAM Identity Center (SSO), as aws sso login does",
		Long: `login signs an IAM Identity Center session in and writes its token where the AWS CLI
does (~/.aws/sso/cache), for the CLI, the SDKs and codecommitd to share. It opens the
sign-in page in your browser (the authorization code grant with PKCE, answered on
127.0.0.1 only), or with --use-device-code, a legacy profile (sso_start_url without
sso_session), or where no browser can be opened here (an SSH session), prints a URL
and a code to enter on any device. It gives up after 10 minutes. The daemon, if it
runs, reads the new token at once, and keeps the session signed in while git uses it.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			in, err := f.resolve(ctx)
			if err != nil {
				return err
			}
			o.Out = cmd.OutOrStdout()
			tok, err := in.tokens.Login(ctx, in.s, o)
			if err != nil {
				return err
			}
			tellDaemon(ctx, g, in.s, cmd.ErrOrStderr())
			fmt.Fprintf(cmd.OutOrStdout(), "signed in to IAM Identity Center for %s: its token in %s lasts until %s%s\n",
				in.s, in.tokens.TokenPath(in.s), tok.ExpiresAt.Local().Format("15:04 MST"), renewal(tok))
			return nil
		},
	}
	f.register(cmd, "sign in")
	cmd.Flags().BoolVar(&o.DeviceCode, "use-device-code", false, "sign in with a code entered on any device, not a browser here")
	cmd.Flags().BoolVar(&o.NoBrowser, "no-browser", false, "print the sign-in URL instead of opening a browser")
	return cmd
}

// renewal says how the token's life goes on.
func renewal(t sso.Token) string {
	if t.CanRefresh() {
		return "; codecommitd renews it while git uses the session, until IAM Identity Center ends the session"
	}
	return "; it cannot be renewed (no refresh token): sign in again then"
}

func newLogoutCommand(g *globals) *cobra.Command {
	var f sessionFlags
	cmd := &cobra.Command{
		Use:   "logout [--profile P | --sso-session S]",
		Short: "Sign out of IAM Identity Center (SSO), as aws sso logout does",
		Long: `logout ends an IAM Identity Center session (the portal's Logout) and removes its token
file from ~/.aws/sso/cache, as aws sso logout does for every session; the client
registration is kept. The daemon, if it runs, reads the change at once.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			in, err := f.resolve(ctx)
			if err != nil {
				return err
			}
			out, err := in.tokens.Logout(ctx, in.s)
			if err != nil {
				return err
			}
			tellDaemon(ctx, g, in.s, cmd.ErrOrStderr())
			// As aws sso logout sweeps the CLI's cache of the role
			// credentials it got with the session.
			var forgot []string
			for _, p := range in.r.SessionProfiles(ctx, in.s, in.env) {
				if n, err := forget(ctx, g, &cacheFlags{}, p, false); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "codecommitd: could not forget the credentials of profile %s: %v; run codecommitd forget %s\n", p, err, p)
				} else if n > 0 {
					forgot = append(forgot, p)
				}
			}
			writeSignedOut(cmd.OutOrStdout(), in.s, out, forgot)
			return nil
		},
	}
	f.register(cmd, "sign out of")
	return cmd
}

func writeSignedOut(w io.Writer, s sso.Session, out sso.SignedOut, forgot []string) {
	also := ""
	if len(forgot) > 0 {
		also = "; forgot the credentials codecommitd had from it (profile " + strings.Join(forgot, ", ") + ")"
	}
	switch {
	case !out.Removed:
		fmt.Fprintf(w, "%s was not signed in here (no token file %s)%s\n", s, out.Path, also)
	case out.Ended:
		fmt.Fprintf(w, "signed out of IAM Identity Center for %s: the session is ended there and %s is removed (the client registration is kept)%s\n", s, out.Path, also)
	case out.Err != nil:
		fmt.Fprintf(w, "signed out of IAM Identity Center for %s here: %s is removed, but the session could not be ended there (%s), so it lasts until it ends by itself%s\n", s, out.Path, portalWhy(out.Err), also)
	default:
		fmt.Fprintf(w, "signed out of IAM Identity Center for %s: %s is removed (its token had expired; the client registration is kept)%s\n", s, out.Path, also)
	}
}

// tellDaemon tells a daemon that runs to read the token file of s again;
// one that does not run reads it when it needs it.
func tellDaemon(ctx context.Context, g *globals, s sso.Session, stderr io.Writer) {
	c, err := client.Dial(g.socketPath())
	if err != nil {
		return
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	if err := c.SSOSessionChanged(ctx, broker.SSOSession{Name: s.Name, StartURL: s.StartURL}); err != nil && !errors.Is(err, broker.ErrUnavailable) {
		fmt.Fprintf(stderr, "codecommitd: the daemon could not be told (%v); it reads the file again within a minute\n", err)
	}
}

// portalWhy says in a few words why the portal could not end a session.
func portalWhy(err error) string {
	var e *sso.Error
	switch {
	case !errors.As(err, &e):
		return "it did not answer"
	case e.Detail != "":
		return e.Detail
	case e.Code != "":
		return e.Code
	}
	return e.Reason.String()
}
