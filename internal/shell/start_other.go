//go:build !linux

package shell

// startTree starts the shell in a process group of its own.
var startTree starter = startDirect
