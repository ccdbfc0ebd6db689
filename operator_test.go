package main

import (
	"strings"
	"testing"
)

func TestParseOperatorFlags(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    operatorOptions
		wantErr string
	}{{
		name: "defaults",
		want: operatorOptions{
			metricsAddr: ":8080", probeAddr: ":8081", gatewayImage: "ghcr.io/kwps/kwps:" + version,
			logs: logFlags{format: "json", level: "info"},
		},
	}, {
		name: "gateway image from the environment",
		env:  map[string]string{"KWPS_GATEWAY_IMAGE": "registry.local/kwps:1.2.3"},
		want: operatorOptions{
			metricsAddr: ":8080", probeAddr: ":8081", gatewayImage: "registry.local/kwps:1.2.3",
			logs: logFlags{format: "json", level: "info"},
		},
	}, {
		name: "flags win over the environment",
		args: []string{
			"--kubeconfig", "/tmp/kc", "--metrics-bind-address", "0", "--metrics-secure", "--health-probe-bind-address", ":9440",
			"--leader-elect", "--leader-election-namespace", "kwps-system", "--gateway-image", "mirror/kwps:x", "--enable-http2",
			"--log-format", "text", "--log-level", "debug",
		},
		env: map[string]string{"KWPS_GATEWAY_IMAGE": "registry.local/kwps:1.2.3"},
		want: operatorOptions{
			kubeconfig: "/tmp/kc", metricsAddr: "0", metricsSecure: true, probeAddr: ":9440", leaderElect: true,
			leaderElectionNamespace: "kwps-system", gatewayImage: "mirror/kwps:x", enableHTTP2: true,
			logs: logFlags{format: "text", level: "debug"},
		},
	}, {
		name:    "an empty gateway image",
		args:    []string{"--gateway-image", ""},
		wantErr: "--gateway-image",
	}, {
		name:    "stray arguments",
		args:    []string{"extra"},
		wantErr: "unexpected arguments",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOperatorFlags(tt.args, env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *got != tt.want {
				t.Errorf("options\n got  %+v\n want %+v", *got, tt.want)
			}
		})
	}
}
