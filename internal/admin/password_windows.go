package admin

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// readPassword asks for the Windows account password the Service Control
// Manager needs to run the service as user. codecommitd does not keep it.
func readPassword(cmd *cobra.Command, user string) (string, error) {
	fmt.Fprintf(cmd.ErrOrStderr(), "Windows password of %s (the Service Control Manager needs it to run the service as you; codecommitd does not keep it): ", user)
	b, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(cmd.ErrOrStderr())
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	return string(b), nil
}
