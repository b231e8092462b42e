//go:build linux

package mariadb

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// sysProcAttr puts the child in its own process group, so Close can signal
// everything it spawned, and asks the kernel to SIGKILL it when the thread
// that started it dies. startProcess pins that thread for the child's whole
// life, so in practice the signal fires when the parent process dies (a
// crashed or killed test binary), and no mariadbd outlives it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// alive reports whether a process with this id exists and is not a zombie
// waiting for a reaper that may be slow (a container's PID 1).
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesized command name, which may itself
	// contain parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z' && stat[i+2] != 'X'
}
