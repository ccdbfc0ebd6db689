package system

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kwps/kwps/dataplane/auth"
	"github.com/kwps/kwps/test/bench/internal/wsclient"
)

const (
	// Hub is the hub every kwps scenario uses.
	Hub = "bench"
	// jsonProtocol is the subprotocol of kwps clients.
	jsonProtocol = "json.webpubsub.azure.v1"
	// readyTimeout bounds a server's start (with Redis, until the backplane is connected).
	readyTimeout = 30 * time.Second
	// connectedTimeout bounds the wait for a kwps client's "connected" message.
	connectedTimeout = 10 * time.Second
)

// KwpsOptions start `kwps serve` processes.
type KwpsOptions struct {
	// Bin is the kwps binary.
	Bin string
	// Manifests are Hub manifest files passed with -f.
	Manifests []string
	// RedisURL joins the processes on a Redis backplane (required for more than one).
	RedisURL string
	// CPU pins the processes (taskset -c), LogDir receives their logs.
	CPU, LogDir string
}

// Kwps is one or more `kwps serve` processes.
type Kwps struct {
	procs     []*Process
	endpoints []*url.URL
	admins    []string // host:port
	key       string
	http      *http.Client
}

var _ System = (*Kwps)(nil)

// StartKwps starts n `kwps serve` processes and waits until each is ready.
func StartKwps(ctx context.Context, o KwpsOptions, n int) (*Kwps, error) {
	key, err := auth.GenerateKey()
	if err != nil {
		return nil, err
	}
	k := &Kwps{key: key, http: &http.Client{Timeout: 10 * time.Second}}
	for i := range n {
		if err := k.startOne(ctx, o, i); err != nil {
			k.Stop()
			return nil, err
		}
	}
	return k, nil
}

func (k *Kwps) startOne(ctx context.Context, o KwpsOptions, i int) error {
	admin, err := freePort(ctx)
	if err != nil {
		return err
	}
	adminAddr := "127.0.0.1:" + admin
	argv := []string{o.Bin, "serve", "--listen", "127.0.0.1:0", "--admin-listen", adminAddr, "--log-level", "warn", "--pprof"}
	for _, m := range o.Manifests {
		argv = append(argv, "-f", m)
	}
	if o.RedisURL != "" {
		argv = append(argv, "--redis", o.RedisURL)
	}
	p, err := Start(ctx, Launch{
		Name: "kwps-" + strconv.Itoa(i), Argv: argv, CPU: o.CPU, LogDir: o.LogDir,
		Env: []string{"KWPS_ACCESS_KEY=" + k.key},
	})
	if err != nil {
		return err
	}
	k.procs = append(k.procs, p)
	line, err := p.WaitLine("Endpoint=", readyTimeout)
	if err != nil {
		return err
	}
	cs, err := auth.ParseConnectionString("Endpoint=" + line)
	if err != nil {
		return fmt.Errorf("kwps-%d printed a connection string that does not parse: %w", i, err)
	}
	k.endpoints = append(k.endpoints, cs.Endpoint)
	k.admins = append(k.admins, adminAddr)
	err = waitReady(ctx, readyTimeout, func(ctx context.Context) error {
		if !p.Alive() {
			return p.failure("exited")
		}
		return k.get(ctx, i, "/readyz", io.Discard)
	})
	if err != nil {
		return fmt.Errorf("kwps-%d: %w", i, err)
	}
	return nil
}

// Name implements System.
func (k *Kwps) Name() string { return NameKwps }

// Processes implements System.
func (k *Kwps) Processes() []*Process { return k.procs }

// Stop implements System.
func (k *Kwps) Stop() {
	k.http.CloseIdleConnections()
	stopAll(k.procs)
}

// Endpoint is the public endpoint of process node.
func (k *Kwps) Endpoint(node int) *url.URL { return k.endpoints[node%len(k.endpoints)] }

// Key is the access key every process uses.
func (k *Kwps) Key() string { return k.key }

// Token returns a client access token for m.
func (k *Kwps) Token(node int, m Member) (string, error) {
	return auth.IssueClientToken(k.key, auth.ClientTokenOptions{
		Audience: auth.ClientAudience(k.Endpoint(node), Hub),
		UserID:   m.User,
		Roles:    []string{"webpubsub.sendToGroup"},
		Groups:   m.Groups,
	})
}

// Dial implements System: a json.webpubsub.azure.v1 client, returned once "connected" arrived (its
// token's groups are joined by then).
func (k *Kwps) Dial(ctx context.Context, node int, m Member, onFrame func([]byte)) (*wsclient.Conn, error) {
	token, err := k.Token(node, m)
	if err != nil {
		return nil, err
	}
	return k.DialToken(ctx, node, token, onFrame)
}

// DialToken is Dial with a token made beforehand (Token), so that signing is not timed.
func (k *Kwps) DialToken(ctx context.Context, node int, token string, onFrame func([]byte)) (*wsclient.Conn, error) {
	u := auth.ClientURL(k.Endpoint(node), Hub, token)
	c, err := wsclient.Dial(ctx, u, wsclient.Options{Protocols: []string{jsonProtocol}, ReceiveBuffer: receiveBufferFor(onFrame)})
	if err != nil {
		return nil, err
	}
	if err := awaitFrame(c, connectedTimeout, func(p []byte) (bool, error) {
		if bytes.Contains(p, []byte(`"event":"connected"`)) {
			return true, nil
		}
		if bytes.Contains(p, []byte(`"event":"disconnected"`)) {
			return false, fmt.Errorf("kwps disconnected the client: %.200s", p)
		}
		return false, nil
	}); err != nil {
		c.Close()
		return nil, err
	}
	if onFrame != nil {
		c.Start(onFrame)
	}
	return c, nil
}

// Publish implements System: a sendToGroup message with text data.
func (k *Kwps) Publish(group string, payload []byte) *wsclient.Template {
	prefix := `{"type":"sendToGroup","group":` + strconv.Quote(group) + `,"dataType":"text","data":"`
	return wsclient.NewTemplate([]byte(prefix), payload, []byte(`"}`))
}

// Event returns a user event message with text data, which kwps sends to the event handler.
func (k *Kwps) Event(name string, payload []byte) *wsclient.Template {
	prefix := `{"type":"event","event":` + strconv.Quote(name) + `,"dataType":"text","data":"`
	return wsclient.NewTemplate([]byte(prefix), payload, []byte(`"}`))
}

// HeapInuse is go_memstats_heap_inuse_bytes from process node's /metrics.
func (k *Kwps) HeapInuse(ctx context.Context, node int) (int64, error) {
	var b bytes.Buffer
	if err := k.get(ctx, node, "/metrics", &b); err != nil {
		return 0, err
	}
	return metricValue(b.String(), "go_memstats_heap_inuse_bytes")
}

// ErrNoProfiler says that the admin listener does not serve /debug/pprof.
var ErrNoProfiler = fmt.Errorf("kwps serve does not expose /debug/pprof on its admin listener")

// HasProfiler reports whether process node's admin listener serves /debug/pprof/.
func (k *Kwps) HasProfiler(ctx context.Context, node int) bool {
	return k.get(ctx, node, "/debug/pprof/", io.Discard) == nil
}

// Profile fetches a CPU profile of process node over d into w, if the admin listener serves pprof.
func (k *Kwps) Profile(ctx context.Context, node int, d time.Duration, w io.Writer) error {
	u := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", k.admins[node%len(k.admins)], int(d.Seconds()))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: d + 10*time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return ErrNoProfiler
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /debug/pprof/profile: %s", resp.Status)
	}
	_, err = io.Copy(w, io.LimitReader(resp.Body, 64<<20))
	return err
}

// get fetches an admin path of process node into w, failing unless the status is 200.
func (k *Kwps) get(ctx context.Context, node int, path string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+k.admins[node%len(k.admins)]+path, nil)
	if err != nil {
		return err
	}
	resp, err := k.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(b)))
	}
	_, err = io.Copy(w, io.LimitReader(resp.Body, 16<<20))
	return err
}

// metricValue finds an unlabelled sample in Prometheus text output.
func metricValue(text, name string) (int64, error) {
	for line := range strings.SplitSeq(text, "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return int64(f), err
		}
	}
	return 0, fmt.Errorf("no %s in /metrics", name)
}

// stalledReceiveBuffer is the SO_RCVBUF of clients that never read: small, so that their backlog
// reaches the server after a few messages instead of after megabytes.
const stalledReceiveBuffer = 4096

func receiveBufferFor(onFrame func([]byte)) int {
	if onFrame == nil {
		return stalledReceiveBuffer
	}
	return 0
}

// awaitFrame reads frames until done says the one awaited arrived, or fails.
func awaitFrame(c *wsclient.Conn, timeout time.Duration, done func([]byte) (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("no reply within %s", timeout)
		}
		p, err := c.ReadFrame(left)
		if err != nil {
			return err
		}
		ok, err := done(p)
		if err != nil || ok {
			return err
		}
	}
}
