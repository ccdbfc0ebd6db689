package auth

import (
	"errors"
	"testing"
	"time"
)

func TestReconnectionToken(t *testing.T) {
	v := &Verifier{Keys: NewKeySet("primary", "secondary")}
	tok, err := IssueReconnectionToken("secondary", "conn1", time.Hour, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.VerifyReconnectionToken(tok, "conn1"); err != nil {
		t.Fatalf("valid token refused: %v", err)
	}
	if err := v.VerifyReconnectionToken(tok, "conn2"); !errors.Is(err, ErrAudience) {
		t.Fatalf("token used for another connection: %v", err)
	}
	expired, _ := IssueReconnectionToken("primary", "conn1", time.Minute, time.Now().Add(-time.Hour))
	if err := v.VerifyReconnectionToken(expired, "conn1"); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired token: %v", err)
	}
	other, _ := IssueReconnectionToken("rotated-out", "conn1", time.Hour, time.Time{})
	if err := v.VerifyReconnectionToken(other, "conn1"); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token of an unknown key: %v", err)
	}
	// A client access token is not a reconnection token, even with the connection ID as audience.
	client, _ := IssueClientToken("primary", ClientTokenOptions{Audience: "conn1"})
	if err := v.VerifyReconnectionToken(client, "conn1"); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("client token accepted as reconnection token: %v", err)
	}
}
