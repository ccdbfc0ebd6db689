package scaleout

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kwps/kwps/dataplane/auth"
	"github.com/kwps/kwps/dataplane/backplane/redistest"
)

// apiVersion is the REST API version the tests call, the newest (PROTOCOL.md §10.1).
const apiVersion = "2024-12-01"

// Bounds of what the tests read and wait for.
const (
	// waitFor bounds a wait for something asynchronous that should be quick (a message, a subscription).
	waitFor = 5 * time.Second
	// maxBody bounds a REST or admin response body.
	maxBody = 1 << 20
	// restTimeout bounds one HTTP call.
	restTimeout = 10 * time.Second
)

// cluster is a redis-server and kwps processes on it, sharing one access key: one service.
type cluster struct {
	redis *redistest.Server
	key   string
	nodes []*node
	http  *http.Client
}

// newCluster starts redis-server and n kwps processes named A, B, C, ...
func newCluster(tb testing.TB, n int) *cluster {
	tb.Helper()
	key, err := auth.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	cl := &cluster{
		redis: redistest.Start(tb),
		key:   key,
		http:  &http.Client{Timeout: restTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 16}},
	}
	tb.Cleanup(cl.http.CloseIdleConnections)
	logs := tb.TempDir()
	for i := range n {
		cl.nodes = append(cl.nodes, startNode(tb, string(rune('A'+i)), cl.redis.URL(), key, logs))
	}
	return cl
}

// restResponse is what a REST call returned.
type restResponse struct {
	status int
	body   []byte
}

// call sends a REST request to n, signed as the SDKs sign it: an HS256 bearer token whose audience is
// the full request URL, query included. path is the escaped path; api-version is added to query.
func (cl *cluster) call(tb testing.TB, n *node, method, path string, query url.Values, contentType string, body []byte) restResponse {
	tb.Helper()
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("api-version", apiVersion)
	return cl.callURL(tb, method, n.endpoint.String()+path+"?"+q.Encode(), contentType, body)
}

// callURL sends a signed REST request to an absolute URL, such as a nextLink.
func (cl *cluster) callURL(tb testing.TB, method, rawURL, contentType string, body []byte) restResponse {
	tb.Helper()
	token, err := auth.IssueRESTToken(cl.key, rawURL, 0)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), restTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, rawURL, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := cl.http.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		tb.Fatalf("%s %s: reading the body: %v", method, rawURL, err)
	}
	return restResponse{status: resp.StatusCode, body: data}
}

// must calls the REST API and fails the test unless it answers want.
func (cl *cluster) must(tb testing.TB, want int, n *node, method, path string, query url.Values, contentType string, body []byte) restResponse {
	tb.Helper()
	r := cl.call(tb, n, method, path, query, contentType, body)
	if r.status != want {
		tb.Fatalf("%s %s on %s: status %d, want %d; body: %s", method, path, n.name, r.status, want, r.body)
	}
	return r
}

// sendText is a REST send of a text/plain body (202 expected).
func (cl *cluster) sendText(tb testing.TB, n *node, path string, query url.Values, text string) {
	tb.Helper()
	cl.must(tb, http.StatusAccepted, n, http.MethodPost, path, query, "text/plain", []byte(text))
}

// exists is a HEAD check: true on 200, false on 404, a failure otherwise.
func (cl *cluster) exists(tb testing.TB, n *node, path string, query url.Values) bool {
	tb.Helper()
	r := cl.call(tb, n, http.MethodHead, path, query, "", nil)
	switch r.status {
	case http.StatusOK:
		return true
	case http.StatusNotFound:
		return false
	}
	tb.Fatalf("HEAD %s on %s: status %d", path, n.name, r.status)
	return false
}

// eventually polls cond every 20 ms until it holds or within runs out, and says how long it took.
func eventually(tb testing.TB, within time.Duration, what string, cond func() bool) time.Duration {
	tb.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			tb.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// admin GETs a path of n's admin listener.
func (cl *cluster) admin(n *node, path string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), restTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.admin+path, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := cl.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4*maxBody))
	return resp.StatusCode, string(data), err
}

// ready reports whether n's /readyz answers 200.
func (cl *cluster) ready(tb testing.TB, n *node) bool {
	tb.Helper()
	status, _, err := cl.admin(n, "/readyz")
	if err != nil {
		tb.Fatalf("GET /readyz on %s: %v", n.name, err)
	}
	return status == http.StatusOK
}

// metric reads an unlabelled sample from n's /metrics (Prometheus text format).
func (cl *cluster) metric(tb testing.TB, n *node, name string) float64 {
	tb.Helper()
	status, text, err := cl.admin(n, "/metrics")
	if err != nil || status != http.StatusOK {
		tb.Fatalf("GET /metrics on %s: %d %v", n.name, status, err)
	}
	v, ok := sample(text, name)
	if !ok {
		tb.Fatalf("/metrics on %s has no sample %s", n.name, name)
	}
	return v
}

// sample finds `name value` in a Prometheus text exposition.
func sample(text, name string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		return v, err == nil
	}
	return 0, false
}

// paths of the REST API (escaped).
func hubPath(hub string) string          { return "/api/hubs/" + url.PathEscape(hub) }
func groupPath(hub, group string) string { return hubPath(hub) + "/groups/" + url.PathEscape(group) }
func userPath(hub, user string) string   { return hubPath(hub) + "/users/" + url.PathEscape(user) }
func connPath(hub, id string) string     { return hubPath(hub) + "/connections/" + url.PathEscape(id) }
func permPath(hub, perm, id string) string {
	return fmt.Sprintf("%s/permissions/%s/connections/%s", hubPath(hub), perm, url.PathEscape(id))
}
