package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kwps/kwps/test/bench/internal/bare"
	"github.com/kwps/kwps/test/bench/internal/system"
)

// bareKeepAlive matches kwps's default keepalive interval, so that S1 holds connections alike.
const bareKeepAlive = 20 * time.Second

// runBare is `kwps-bench bare-server`: the bare baseline, until SIGTERM.
func runBare(args []string) error {
	fs := flag.NewFlagSet("kwps-bench bare-server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Println(system.BareListening + ln.Addr().String())
	return bare.New(bareKeepAlive).Serve(ctx, ln)
}
