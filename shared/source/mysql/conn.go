package mysql

import (
	"bufio"
	"context"
	"net"
	"syscall"

	driver "github.com/go-sql-driver/mysql"
)

// readBufferBytes is the read buffer in front of each connection to the
// server. The driver reads at most 4 KiB per system call; a shard's rows
// stream in far larger amounts, and one read(2) per 4 KiB costs a few
// percent of a worker's CPU (BenchmarkReadEncode).
const readBufferBytes = 256 << 10

// bufferedDial sets cfg's dial function to the driver's plain TCP or Unix
// socket dial with a read buffer in front, unless cfg has a dial function
// of its own or names another network (one registered with the driver).
func bufferedDial(cfg *driver.Config) {
	if cfg.DialFunc != nil || (cfg.Net != "tcp" && cfg.Net != "tcp4" && cfg.Net != "tcp6" && cfg.Net != "unix") {
		return
	}
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer // keep-alives on, as the driver sets them
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, readBufferBytes)}, nil
	}
}

// bufferedConn reads through a buffer and writes directly.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// SyscallConn lets the driver check an idle pooled connection's socket for
// a close by the server, as it does on a plain connection. Between
// statements the buffer is empty: the driver reads each result to its end.
func (c *bufferedConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, syscall.EINVAL
	}
	return sc.SyscallConn()
}
