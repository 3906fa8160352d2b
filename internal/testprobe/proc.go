// Package testprobe answers what tests must know about this machine before
// they assert: whether a process was killed or stopped (kill(2) only queues
// a signal, which takes effect when the scheduler next runs the process, so
// "gone" cannot be asserted the moment kill returns; this reads Linux's
// /proc), whether the resolver answers "no such host", and which port
// refuses connections. It is for tests only.
package testprobe

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

const (
	pfExiting = 0x4          // PF_EXITING in /proc/<pid>/stat's flags
	sigkill   = 1 << (9 - 1) // SIGKILL's bit in the pending masks
)

// Killed reports whether pid is gone, a zombie, exiting, or has SIGKILL
// pending. Where /proc is missing it reports true (it cannot tell). When it
// reports false, why says what /proc showed.
func Killed(pid int) (ok bool, why string) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true, ""
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return true, ""
	}
	return Dying(string(stat), string(status)), string(stat) + "\n" + string(status)
}

// Dying reads the texts of /proc/<pid>/stat and /proc/<pid>/status.
func Dying(stat, status string) bool {
	f := statFields(stat)
	if len(f) > 0 && (f[0] == "Z" || f[0] == "X") {
		return true
	}
	if len(f) > 6 {
		if flags, err := strconv.ParseUint(f[6], 10, 64); err == nil && flags&pfExiting != 0 {
			return true
		}
	}
	for _, line := range strings.Split(status, "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok || (key != "SigPnd" && key != "ShdPnd") {
			continue
		}
		if mask, err := strconv.ParseUint(strings.TrimSpace(val), 16, 64); err == nil && mask&sigkill != 0 {
			return true
		}
	}
	return false
}

// Stopped reports whether every thread of pid is stopped (SIGSTOP has taken
// effect, not merely been queued). Where /proc is missing it reports true.
func Stopped(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return true
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			continue // that thread is gone
		}
		if f := statFields(string(stat)); len(f) == 0 || (f[0] != "T" && f[0] != "t") {
			return false
		}
	}
	return true
}

// statFields are the fields of a /proc stat text after the command name:
// state, ppid, pgrp, session, tty, tpgid, flags, … The name may hold spaces
// and parentheses, so they start after the last ")".
func statFields(stat string) []string {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(stat[i+1:])
}
