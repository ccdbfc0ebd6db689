package rest

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/kwps/kwps/dataplane/filter"
	"github.com/kwps/kwps/dataplane/gateway"
)

// Error codes, sent as the body's code and the x-ms-error-code header.
const (
	CodeBadRequest           = "BadRequest"
	CodeUnauthorized         = "Unauthorized"
	CodeNotFound             = "NotFound"
	CodeMethodNotAllowed     = "MethodNotAllowed"
	CodePayloadTooLarge      = "RequestEntityTooLarge"
	CodeUnsupportedMediaType = "UnsupportedMediaType"
	CodeURITooLong           = "RequestUriTooLong"
	CodeInternal             = "InternalServerError"
)

// apiError is an error response: an HTTP status and Azure's ErrorDetail body.
type apiError struct {
	status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Target  string `json:"target,omitempty"`
	// cause is logged for 5xx errors and never sent.
	cause error
}

func (e *apiError) Error() string { return e.Message }

// badParam is a 400 for one parameter. The message ends in Azure's "(Parameter 'name')".
func badParam(name, message string) *apiError {
	return &apiError{
		status:  http.StatusBadRequest,
		Code:    CodeBadRequest,
		Message: message + " (Parameter '" + name + "')",
		Target:  name,
	}
}

func notFound(message, target string) *apiError {
	return &apiError{status: http.StatusNotFound, Code: CodeNotFound, Message: message, Target: target}
}

func tooLarge(limit int64) *apiError {
	return &apiError{
		status:  http.StatusRequestEntityTooLarge,
		Code:    CodePayloadTooLarge,
		Message: "The request body is larger than " + strconv.FormatInt(limit, 10) + " bytes.",
	}
}

// internal hides cause from the caller; the handler logs it.
func internal(cause error) *apiError {
	return &apiError{
		status:  http.StatusInternalServerError,
		Code:    CodeInternal,
		Message: "The service could not complete the operation.",
		cause:   cause,
	}
}

// filterError turns a filter parse error into a 400 with Azure's wording: the filter package's message
// followed by "(Parameter 'filter')".
func filterError(err error) *apiError {
	msg := err.Error()
	if fe, ok := errors.AsType[*filter.Error](err); ok {
		msg = fe.Msg
	}
	return badParam("filter", msg)
}

// serviceError maps a Service error: gateway.ErrConnectionNotFound is a 404 naming the connection, a
// group limit a 400, an unreachable backplane a 503, anything else a 500.
func serviceError(err error) *apiError {
	switch {
	case errors.Is(err, gateway.ErrConnectionNotFound):
		return notFound("The connection does not exist.", "connectionId")
	case errors.Is(err, gateway.ErrTooManyGroups):
		return badParam("group", "The connection is in too many groups: "+err.Error()+".")
	case errors.Is(err, gateway.ErrBackplane):
		return &apiError{status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", Message: gateway.ErrBackplane.Error() + "; retry later."}
	}
	return internal(err)
}

// writeError writes e as the response. A HEAD response carries the status and header only.
func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	h.Set("x-ms-error-code", e.Code)
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	if e.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", "Bearer")
	}
	body, _ := json.Marshal(e) // only strings: cannot fail
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

// asAPIError converts any error returned by an operation into a response.
func asAPIError(err error) *apiError {
	if e, ok := errors.AsType[*apiError](err); ok {
		return e
	}
	return internal(err)
}
