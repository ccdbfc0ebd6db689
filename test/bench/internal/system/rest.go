package system

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/kwps/kwps/dataplane/auth"
	"github.com/kwps/kwps/test/bench/internal/latency"
)

// restAPIVersion is the api-version the REST sends use (the latest stable one).
const restAPIVersion = "2024-12-01"

// RESTSender sends stamped payloads to a group with the data-plane REST API, as an app server does
// with the service SDK. Send is safe for concurrent use; it keeps a connection per concurrent sender.
type RESTSender struct {
	client  *http.Client
	url     string
	bearer  string
	payload []byte
}

// RESTGroup returns a sender to group through process node. parallel is how many sends may be in
// flight at once (the idle connections kept).
func (k *Kwps) RESTGroup(node int, group string, payload []byte, parallel int) (*RESTSender, error) {
	ep := k.Endpoint(node)
	u := ep.JoinPath("api", "hubs", Hub, "groups", group, ":send")
	u.RawQuery = url.Values{"api-version": {restAPIVersion}}.Encode()
	token, err := auth.IssueRESTToken(k.key, u.String(), 0) // the JS SDK's audience: the full URL
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{MaxIdleConns: parallel, MaxIdleConnsPerHost: parallel, IdleConnTimeout: time.Minute}
	return &RESTSender{
		client:  &http.Client{Transport: tr, Timeout: 10 * time.Second},
		url:     u.String(),
		bearer:  "Bearer " + token,
		payload: payload,
	}, nil
}

// Send posts the payload stamped with step as text/plain and expects 202 Accepted.
func (s *RESTSender) Send(ctx context.Context, step uint32) error {
	body := append([]byte(nil), s.payload...)
	latency.Stamp(body, step, latency.Now())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", s.bearer)
	req.Header.Set("Content-Type", "text/plain")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("REST send: %s: %s", resp.Status, b)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return nil
}

// Close closes the sender's idle connections.
func (s *RESTSender) Close() { s.client.CloseIdleConnections() }
