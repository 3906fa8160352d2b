// Command codecommitd is the credential daemon and its admin command line.
// See package admin.
package main

import (
	"context"
	"os"

	"github.com/codecommitd/codecommitd/internal/admin"
)

func main() {
	os.Exit(admin.Execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
