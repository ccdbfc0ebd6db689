package auth

import (
	"errors"
	"strings"
	"testing"
)

const testKey = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH"

func TestParseConnectionString(t *testing.T) {
	tests := []struct {
		name         string
		in           string
		wantEndpoint string
		wantKey      string
		wantVersion  string
		wantErr      string
	}{
		{
			name:         "as Azure writes it",
			in:           "Endpoint=https://demo.webpubsub.azure.com;AccessKey=" + testKey + ";Version=1.0;",
			wantEndpoint: "https://demo.webpubsub.azure.com", wantKey: testKey, wantVersion: "1.0",
		},
		{
			name:         "as kwps serve prints it",
			in:           "Endpoint=http://127.0.0.1:8080;AccessKey=" + testKey + ";Version=1.0;",
			wantEndpoint: "http://127.0.0.1:8080", wantKey: testKey, wantVersion: "1.0",
		},
		{
			name:         "local dev with Port",
			in:           "Endpoint=http://localhost;Port=8080;AccessKey=" + testKey + ";Version=1.0;",
			wantEndpoint: "http://localhost:8080", wantKey: testKey, wantVersion: "1.0",
		},
		{
			name:         "Port replaces the endpoint's port",
			in:           "Endpoint=http://localhost:9000;Port=8080;AccessKey=k",
			wantEndpoint: "http://localhost:8080", wantKey: "k",
		},
		{
			name:         "Port before Endpoint",
			in:           "Port=8080;AccessKey=k;Endpoint=http://localhost",
			wantEndpoint: "http://localhost:8080", wantKey: "k",
		},
		{
			name:         "default Port is dropped like the JS SDK's URL",
			in:           "Endpoint=https://demo.example.com;Port=443;AccessKey=k",
			wantEndpoint: "https://demo.example.com", wantKey: "k",
		},
		{
			name:         "IPv6 with Port",
			in:           "Endpoint=http://[::1];Port=8080;AccessKey=k",
			wantEndpoint: "http://[::1]:8080", wantKey: "k",
		},
		{
			name:         "without scheme gets https",
			in:           "Endpoint=demo.webpubsub.azure.com;AccessKey=k;Version=1.0",
			wantEndpoint: "https://demo.webpubsub.azure.com", wantKey: "k", wantVersion: "1.0",
		},
		{
			name:         "keys in any case, no trailing semicolon",
			in:           "endpoint=https://demo.example.com;ACCESSKEY=k;version=1.0",
			wantEndpoint: "https://demo.example.com", wantKey: "k", wantVersion: "1.0",
		},
		{
			name:         "key with base64 padding keeps its =",
			in:           "Endpoint=https://demo.example.com;AccessKey=abc+/def==;",
			wantEndpoint: "https://demo.example.com", wantKey: "abc+/def==",
		},
		{
			name:         "trailing slash removed, path kept",
			in:           "Endpoint=https://example.com/wps/;AccessKey=k",
			wantEndpoint: "https://example.com/wps", wantKey: "k",
		},
		{
			name:         "white space and a newline from an env file",
			in:           " Endpoint = https://demo.example.com ; AccessKey = k ;Version=1.0;\n",
			wantEndpoint: "https://demo.example.com", wantKey: "k", wantVersion: "1.0",
		},
		{
			name:         "segments without = and empty segments are ignored (JS SDK)",
			in:           "Endpoint=https://demo.example.com;;junk;AccessKey=k",
			wantEndpoint: "https://demo.example.com", wantKey: "k",
		},
		{
			name:         "upper-case scheme",
			in:           "Endpoint=HTTPS://Demo.Example.com;AccessKey=k",
			wantEndpoint: "https://Demo.Example.com", wantKey: "k",
		},
		{name: "missing endpoint", in: "AccessKey=" + testKey, wantErr: "Endpoint is missing"},
		{name: "missing key", in: "Endpoint=https://demo.example.com;Version=1.0;", wantErr: "AccessKey is missing"},
		{name: "empty key", in: "Endpoint=https://demo.example.com;AccessKey=;", wantErr: "AccessKey is missing"},
		{name: "bad port", in: "Endpoint=http://localhost;Port=99999;AccessKey=" + testKey, wantErr: "Port"},
		{name: "non-numeric port", in: "Endpoint=http://localhost;Port=abc;AccessKey=" + testKey, wantErr: "Port"},
		{name: "other scheme", in: "Endpoint=ftp://demo.example.com;AccessKey=" + testKey, wantErr: "http:// or https://"},
		{name: "no host", in: "Endpoint=https://;AccessKey=" + testKey, wantErr: "no host"},
		{name: "query in endpoint", in: "Endpoint=https://demo.example.com/?x=1;AccessKey=" + testKey, wantErr: "query"},
		{name: "empty", in: "", wantErr: "Endpoint is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConnectionString(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("no error, want one containing %q", tt.wantErr)
				}
				if !errors.Is(err, ErrConnectionString) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %q, want ErrConnectionString containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), testKey) {
					t.Fatalf("error %q contains the access key", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Endpoint.String() != tt.wantEndpoint || got.AccessKey != tt.wantKey || got.Version != tt.wantVersion {
				t.Errorf("got endpoint %q key %q version %q, want %q %q %q",
					got.Endpoint, got.AccessKey, got.Version, tt.wantEndpoint, tt.wantKey, tt.wantVersion)
			}
		})
	}
}

func TestFormatConnectionString(t *testing.T) {
	tests := []struct{ endpoint, want string }{
		{"http://127.0.0.1:8080", "Endpoint=http://127.0.0.1:8080;AccessKey=" + testKey + ";Version=1.0;"},
		{"http://127.0.0.1:8080/", "Endpoint=http://127.0.0.1:8080;AccessKey=" + testKey + ";Version=1.0;"},
		{"https://example.com/wps/", "Endpoint=https://example.com/wps;AccessKey=" + testKey + ";Version=1.0;"},
	}
	for _, tt := range tests {
		got := FormatConnectionString(tt.endpoint, testKey)
		if got != tt.want {
			t.Errorf("FormatConnectionString(%q) = %q, want %q", tt.endpoint, got, tt.want)
		}
		back, err := ParseConnectionString(got)
		if err != nil || back.AccessKey != testKey || back.Endpoint.String() != strings.TrimRight(tt.endpoint, "/") {
			t.Errorf("round trip of %q: %+v, %v", got, back, err)
		}
	}
}

func FuzzParseConnectionString(f *testing.F) {
	f.Add("Endpoint=http://localhost;Port=8080;AccessKey=" + testKey + ";Version=1.0;")
	f.Add("endpoint=demo.example.com;accesskey=k")
	f.Add("Endpoint=http://[::1]:80/x/;AccessKey=a=b=;")
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := ParseConnectionString(s)
		if err != nil {
			return
		}
		if cs.Endpoint.Hostname() == "" || cs.AccessKey == "" {
			t.Fatalf("accepted %q without host or key: %+v", s, cs)
		}
		// What we print must parse back to the same endpoint and key.
		back, err := ParseConnectionString(FormatConnectionString(cs.Endpoint.String(), cs.AccessKey))
		if err != nil {
			t.Fatalf("formatted connection string does not parse: %v", err)
		}
		if back.Endpoint.String() != cs.Endpoint.String() || back.AccessKey != cs.AccessKey {
			t.Fatalf("round trip changed %q/%q into %q/%q", cs.Endpoint, cs.AccessKey, back.Endpoint, back.AccessKey)
		}
	})
}
