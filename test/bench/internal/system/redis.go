package system

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"time"
)

// Redis is a redis-server process without persistence, for the scale-out scenario.
type Redis struct {
	proc *Process
	addr string
}

// RedisAvailable reports whether redis-server is installed.
func RedisAvailable() bool {
	_, err := exec.LookPath("redis-server")
	return err == nil
}

// StartRedis starts redis-server on a free loopback port and waits until it answers PING.
func StartRedis(ctx context.Context, cpu, logDir, dataDir string) (*Redis, error) {
	port, err := freePort(ctx)
	if err != nil {
		return nil, err
	}
	p, err := Start(ctx, Launch{
		Name: "redis", CPU: cpu, LogDir: logDir,
		Argv: []string{"redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", dataDir, "--save", "",
			"--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning", "--maxclients", "10000"},
	})
	if err != nil {
		return nil, err
	}
	r := &Redis{proc: p, addr: "127.0.0.1:" + port}
	if err := waitReady(ctx, readyTimeout, r.ping); err != nil {
		p.Stop()
		return nil, fmt.Errorf("redis-server: %w; log:\n%s", err, p.LogTail(1024))
	}
	return r, nil
}

// Addr is host:port.
func (r *Redis) Addr() string { return r.addr }

// URL is the redis:// URL.
func (r *Redis) URL() string { return "redis://" + r.addr }

// Stop stops the server.
func (r *Redis) Stop() { r.proc.Stop() }

func (r *Redis) ping(ctx context.Context) error {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", r.addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReaderSize(c, 64).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}
