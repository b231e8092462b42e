//go:build unix && !linux

package mariadb

import (
	"errors"
	"syscall"
)

// sysProcAttr puts the child in its own process group, so Close can signal
// everything it spawned. Outside Linux there is no parent-death signal: a
// parent that dies without calling Close leaves mariadbd running, and the
// next Start removes its folder only once both are gone (see removeStale).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// alive reports whether a process with this id exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
