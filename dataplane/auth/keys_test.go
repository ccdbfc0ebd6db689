package auth

import (
	"encoding/base64"
	"slices"
	"sync"
	"testing"
)

func TestKeySet(t *testing.T) {
	tests := []struct {
		name               string
		primary, secondary string
		wantKeys           []string
		wantPrimary        string
	}{
		{name: "two keys", primary: "p", secondary: "s", wantKeys: []string{"p", "s"}, wantPrimary: "p"},
		{name: "secondary only signs with secondary", secondary: "s", wantKeys: []string{"s"}, wantPrimary: "s"},
		{name: "same key twice", primary: "k", secondary: "k", wantKeys: []string{"k"}, wantPrimary: "k"},
		{name: "newline from a mounted file is trimmed", primary: "p\n", secondary: " s ", wantKeys: []string{"p", "s"}, wantPrimary: "p"},
		{name: "empty", wantKeys: nil, wantPrimary: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := NewKeySet(tt.primary, tt.secondary)
			if got := k.Keys(); !slices.Equal(got, tt.wantKeys) {
				t.Errorf("Keys() = %q, want %q", got, tt.wantKeys)
			}
			if got := k.Primary(); got != tt.wantPrimary {
				t.Errorf("Primary() = %q, want %q", got, tt.wantPrimary)
			}
		})
	}
}

func TestKeySetZeroAndNil(t *testing.T) {
	var zero KeySet
	var nilSet *KeySet
	if len(zero.Keys()) != 0 || zero.Primary() != "" || len(nilSet.Keys()) != 0 || nilSet.Primary() != "" {
		t.Fatal("zero and nil KeySets must hold no key")
	}
}

func TestKeySetKeysIsACopy(t *testing.T) {
	k := NewKeySet("p", "s")
	got := k.Keys()
	got[0] = "changed"
	if k.Primary() != "p" {
		t.Fatal("modifying the slice from Keys changed the KeySet")
	}
}

// TestKeySetRotationConcurrent rotates keys while others read; run with -race. Readers must always see
// a pair that was set together.
func TestKeySetRotationConcurrent(t *testing.T) {
	k := NewKeySet("a1", "a2")
	pairs := [][2]string{{"a1", "a2"}, {"b1", "b2"}}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				keys := k.Keys()
				if !slices.Equal(keys, pairs[0][:]) && !slices.Equal(keys, pairs[1][:]) {
					t.Errorf("torn read: %q", keys)
					return
				}
			}
		})
	}
	for i := range 1000 {
		p := pairs[i%2]
		k.Set(p[0], p[1])
	}
	close(stop)
	wg.Wait()
}

func TestGenerateKey(t *testing.T) {
	a, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 44 {
		t.Errorf("len = %d, want 44 like an Azure key", len(a))
	}
	raw, err := base64.StdEncoding.DecodeString(a)
	if err != nil || len(raw) != 32 {
		t.Errorf("key is not base64 of 32 bytes: %v, %d bytes", err, len(raw))
	}
	if a == b {
		t.Error("two generated keys are equal")
	}
}
