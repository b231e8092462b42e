package localstack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/go-sql-driver/mysql"
)

// sourceProxy is a TCP proxy in front of the source database for one
// function, so a fault plan can drop that function's connections
// (ServiceSource rules): each read from the client is one call.
type sourceProxy struct {
	function, target string
	plan             *FaultPlan
	l                net.Listener

	mu    sync.Mutex
	conns map[net.Conn]bool
}

func startSourceProxy(function, target string, plan *FaultPlan) (*sourceProxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("source proxy: listen on loopback: %w", err)
	}
	p := &sourceProxy{function: function, target: target, plan: plan, l: l, conns: map[net.Conn]bool{}}
	go p.accept()
	return p, nil
}

func (p *sourceProxy) addr() string { return p.l.Addr().String() }

func (p *sourceProxy) accept() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		go p.serve(c)
	}
}

func (p *sourceProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false // closed
	}
	for _, c := range cs {
		p.conns[c] = true
	}
	return true
}

func (p *sourceProxy) serve(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = client.Close()
		return
	}
	if !p.track(client, server) {
		_ = client.Close()
		_ = server.Close()
		return
	}
	closeBoth := func() {
		_ = client.Close()
		_ = server.Close()
		p.mu.Lock()
		delete(p.conns, client)
		delete(p.conns, server)
		p.mu.Unlock()
	}
	defer closeBoth()
	go func() {
		_, _ = io.Copy(client, server)
		closeBoth()
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			if p.plan.match(call{service: ServiceSource, function: p.function, contains: func(m string) bool { return bytes.Contains(chunk, []byte(m)) }}) != nil {
				return // dropped: what the client sent never reaches the server
			}
			if _, werr := server.Write(chunk); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *sourceProxy) close() {
	_ = p.l.Close()
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for c := range conns {
		_ = c.Close()
	}
}

// proxiedDSN returns dsn with its address replaced by function's proxy to
// it, starting the proxy on first use.
func (s *Stack) proxiedDSN(function, dsn string) (string, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "", fmt.Errorf("source proxy: %w", err)
	}
	if cfg.Net != "tcp" {
		return "", errors.New("source proxy: the DSN is not a TCP address")
	}
	s.proxyMu.Lock()
	defer s.proxyMu.Unlock()
	key := function + "\x00" + cfg.Addr
	p := s.proxies[key]
	if p == nil {
		if p, err = startSourceProxy(function, cfg.Addr, s.Faults); err != nil {
			return "", err
		}
		s.proxies[key] = p
	}
	cfg.Addr = p.addr()
	return cfg.FormatDSN(), nil
}
