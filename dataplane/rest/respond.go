package rest

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/kwps/kwps/dataplane/gateway"
)

// respondAccepted answers a send: 202, or the Service's error. Sends are fire-and-forget, so an unknown
// target is no error.
func respondAccepted(w http.ResponseWriter, err error) error {
	if err = idempotent(err); err != nil {
		return serviceError(err)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// respondExists answers a HEAD check: 200 when ok, a bare 404 when not.
func respondExists(w http.ResponseWriter, ok bool, err error) error {
	if err != nil {
		return internal(err)
	}
	if ok {
		w.WriteHeader(http.StatusOK)
	} else {
		w.WriteHeader(http.StatusNotFound)
	}
	return nil
}

// respondNoContent answers 204, or the Service's error.
func respondNoContent(w http.ResponseWriter, err error) error {
	if err != nil {
		return serviceError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// respondOK answers 200 with no body, or the Service's error.
func respondOK(w http.ResponseWriter, err error) error {
	if err != nil {
		return serviceError(err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// idempotent drops gateway.ErrConnectionNotFound: removing or closing something already gone succeeds,
// as in Azure.
func idempotent(err error) error {
	if errors.Is(err, gateway.ErrConnectionNotFound) {
		return nil
	}
	return err
}

// respondJSON answers 200 with v as JSON.
func respondJSON(w http.ResponseWriter, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return internal(err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}
