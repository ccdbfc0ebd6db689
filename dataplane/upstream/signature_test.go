package upstream

import "testing"

func TestSignature(t *testing.T) {
	// The verified vector of PROTOCOL.md §6.1 (from the .NET SDK's tests).
	const (
		primary   = "sha256=7767effcb3946f3e1de039df4b986ef02c110b1469d02c0a06f41b3b727ab561"
		secondary = "sha256=d4aefb65547a00a9881fa8ac8bd03d0faf77af9da5205d45c6e57cbda4377760"
	)
	tests := []struct {
		name string
		keys []string
		want string
	}{
		{"primary and secondary", []string{testPrimaryKey, testSecondaryKey}, primary + "," + secondary},
		{"secondary first when it is the only key", []string{testSecondaryKey}, secondary},
		{"no keys", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Signature(testConnID, tt.keys); got != tt.want {
				t.Errorf("Signature = %q, want %q", got, tt.want)
			}
		})
	}
}

func BenchmarkSignature(b *testing.B) {
	keys := []string{testPrimaryKey, testSecondaryKey}
	b.ReportAllocs()
	for b.Loop() {
		Signature(testConnID, keys)
	}
}
