//go:build !windows

package client

import (
	"io"
	"os"
)

func openTTY() (io.ReadWriteCloser, error) {
	return os.OpenFile("/dev/tty", os.O_RDWR, 0)
}
