package upstream

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kwps/kwps/dataplane/hubconfig"
)

// ValidateTimeout bounds one abuse-protection check.
const ValidateTimeout = 10 * time.Second

// validateEvent is the {event} value of the abuse-protection request.
const validateEvent = "validate"

// Reasons of a ValidationError, CamelCase so that they can be condition reasons.
const (
	// ReasonHandlerConfig: the URL or its code secret could not be resolved.
	ReasonHandlerConfig = "HandlerConfigInvalid"
	// ReasonUnreachable: no HTTP response (DNS, connection, TLS, refused redirect).
	ReasonUnreachable = "HandlerUnreachable"
	// ReasonTimeout: no response within ValidateTimeout.
	ReasonTimeout = "HandlerTimeout"
	// ReasonStatus: the handler answered with a non-2xx status.
	ReasonStatus = "HandlerStatus"
	// ReasonAllowedOriginMissing: a 2xx without WebHook-Allowed-Origin.
	ReasonAllowedOriginMissing = "AllowedOriginMissing"
	// ReasonOriginNotAllowed: WebHook-Allowed-Origin names neither * nor our origin.
	ReasonOriginNotAllowed = "OriginNotAllowed"
)

// ValidationError is a failed abuse-protection check. Its message names the URL (redacted) and what
// was wrong; it never holds a secret.
type ValidationError struct {
	// URL is the validation URL with every query value redacted.
	URL string
	// Reason is one of the Reason constants.
	Reason string
	// Status is the handler's HTTP status, 0 when there was none.
	Status int
	// Detail says what was wrong, for people.
	Detail string
	// Err is the underlying error, if any.
	Err error
}

// Error names the redacted URL and what was wrong.
func (e *ValidationError) Error() string {
	return "event handler " + e.URL + ": " + e.Detail
}

// Unwrap returns the underlying error, if any.
func (e *ValidationError) Unwrap() error { return e.Err }

// Validate runs the abuse-protection check of an event handler URL template for hub (PROTOCOL.md §8,
// decision 12): an OPTIONS request to the template with {event}=validate, carrying
// WebHook-Request-Origin: origin and ce-awpsversion: 1.0. It succeeds when the handler answers 2xx with
// a WebHook-Allowed-Origin (one or more headers, each possibly a comma-separated list) that holds * or
// origin (case-insensitive). Any failure is a *ValidationError. The check is bounded by
// ValidateTimeout; a nil client uses NewHTTPClient.
func Validate(ctx context.Context, client *http.Client, urlTemplate, hub, origin string) error {
	return validateURL(ctx, client, ExpandURL(urlTemplate, hubconfig.CanonicalHub(hub), validateEvent), origin)
}

// ValidateHandler is Validate for one handler of hub, with its CodeSecretRef resolved through secrets
// into the `code` query parameter (Azure Functions need it on the check too).
func ValidateHandler(ctx context.Context, client *http.Client, hub string, eh *hubconfig.EventHandler, origin string, secrets SecretResolver) error {
	u, err := resolveURL(ctx, secrets, eh, hubconfig.CanonicalHub(hub), validateEvent)
	if err != nil {
		return &ValidationError{
			URL: RedactURL(ExpandURL(eh.URLTemplate, hubconfig.CanonicalHub(hub), validateEvent)), Reason: ReasonHandlerConfig,
			Detail: "cannot resolve the URL: " + err.Error(), Err: err,
		}
	}
	return validateURL(ctx, client, u.raw, origin)
}

func validateURL(ctx context.Context, client *http.Client, raw, origin string) error {
	redacted := RedactURL(raw)
	fail := func(reason string, status int, err error, format string, args ...any) error {
		return &ValidationError{URL: redacted, Reason: reason, Status: status, Detail: fmt.Sprintf(format, args...), Err: err}
	}
	target, err := url.Parse(raw)
	if err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
		return fail(ReasonHandlerConfig, 0, nil, "not an absolute http or https URL")
	}
	if client == nil {
		client = NewHTTPClient()
		defer client.CloseIdleConnections()
	}
	ctx, cancel := context.WithTimeout(ctx, ValidateTimeout)
	defer cancel()
	req := (&http.Request{
		Method: http.MethodOptions, URL: target, Host: target.Host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{
			HeaderRequestOrigin:                        {origin},
			http.CanonicalHeaderKey(headerAWPSVersion): {awpsVersion},
		},
	}).WithContext(ctx)
	resp, err := client.Do(req)
	if err != nil {
		err = redactErr(err)
		if isTimeout(err) {
			return fail(ReasonTimeout, 0, err, "no answer to the validation request (OPTIONS) within %s", ValidateTimeout)
		}
		return fail(ReasonUnreachable, 0, err, "validation request (OPTIONS) failed: %v", err)
	}
	defer closeBody(resp)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fail(ReasonStatus, resp.StatusCode, nil, "validation request (OPTIONS) answered %s, want 2xx with %s", resp.Status, HeaderAllowedOrigin)
	}
	allowed := resp.Header.Values(HeaderAllowedOrigin)
	if len(allowed) == 0 {
		return fail(ReasonAllowedOriginMissing, resp.StatusCode, nil, "validation request (OPTIONS) answered %s without a %s header", resp.Status, HeaderAllowedOrigin)
	}
	if !originAllowed(allowed, origin) {
		return fail(ReasonOriginNotAllowed, resp.StatusCode, nil, "%s %q allows neither * nor this service's origin %q",
			HeaderAllowedOrigin, truncate(strings.Join(allowed, ","), 256), origin)
	}
	return nil
}

// originAllowed reports whether any of the header values (each a comma-separated list) is * or origin.
func originAllowed(values []string, origin string) bool {
	for _, v := range values {
		for o := range strings.SplitSeq(v, ",") {
			o = strings.TrimSpace(o)
			if o == "*" || (o != "" && strings.EqualFold(o, origin)) {
				return true
			}
		}
	}
	return false
}

// truncate bounds a string from the network before it goes into a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
