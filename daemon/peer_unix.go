//go:build !windows

package daemon

import (
	"fmt"
	"os"
)

func ownUser() string { return fmt.Sprintf("uid %d", os.Getuid()) }
