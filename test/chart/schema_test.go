package chart

import (
	"strings"
	"testing"
)

// TestSchemaRefusesBadValues: a value the chart does not know, or of the wrong type or range, fails
// the render with a message that names it, instead of being ignored.
func TestSchemaRefusesBadValues(t *testing.T) {
	tests := []struct {
		name string
		set  []string
		// want is in helm's error: the path the schema refused, or the template's message.
		want string
		// byTemplate: the template refuses it (the schema cannot express it).
		byTemplate bool
	}{
		{name: "unknown top-level key", set: []string{"replicas=2"}, want: "'replicas' not allowed"},
		{name: "misspelt nested key", set: []string{"image.tags=v1"}, want: "'tags' not allowed"},
		{name: "misspelt monitoring key", set: []string{"monitoring.serviceMonitor.enable=true"}, want: "'enable' not allowed"},
		{name: "string for an integer", set: []string{"replicaCount=two"}, want: "/replicaCount"},
		{name: "no operator", set: []string{"replicaCount=0"}, want: "/replicaCount"},
		{name: "string for a boolean", set: []string{"crds.enabled=yes"}, want: "/crds/enabled"},
		{name: "pull policy", set: []string{"image.pullPolicy=Sometimes"}, want: "/image/pullPolicy"},
		{name: "log level", set: []string{"logs.level=verbose"}, want: "/logs/level"},
		{name: "log format", set: []string{"logs.format=xml"}, want: "/logs/format"},
		{name: "metrics port out of range", set: []string{"metrics.port=70000"}, want: "/metrics/port"},
		{name: "metrics port on the probes port", set: []string{"metrics.port=8081"}, want: "/metrics/port"},
		{name: "pull secret as a bare name", set: []string{"imagePullSecrets[0]=registry"}, want: "/imagePullSecrets/0"},
		{name: "malformed digest", set: []string{"image.digest=latest"}, want: "/image/digest"},
		{name: "scrape interval in words", set: []string{"monitoring.podMonitor.interval=30 seconds"}, want: "/monitoring/podMonitor/interval"},
		{name: "toleration operator", set: []string{"tolerations[0].key=a", "tolerations[0].operator=Maybe"}, want: "/tolerations/0/operator"},
		{name: "resources key", set: []string{"resources.request.cpu=1"}, want: "'request' not allowed"},
		{name: "network policy peer", set: []string{"networkPolicy.metricsFrom[0].namespace=monitoring"}, want: "'namespace' not allowed"},
		// Not expressible in the schema: the template refuses it.
		{name: "ServiceMonitor without metrics", set: []string{"metrics.enabled=false", "monitoring.serviceMonitor.enabled=true"}, want: "needs metrics.enabled", byTemplate: true},
		{name: "existing ServiceAccount without a name", set: []string{"serviceAccount.create=false"}, want: "serviceAccount.name is required", byTemplate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := template(t, release{name: "kwps", namespace: "kwps-system", set: tt.set})
			if err == nil {
				t.Fatalf("rendered with %v, want an error naming %q; got %d bytes", tt.set, tt.want, len(out))
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error does not name %q:\n%v", tt.want, err)
			}
			if bySchema := strings.Contains(err.Error(), "don't meet the specifications of the schema"); bySchema == tt.byTemplate {
				t.Errorf("refused by the schema: %v, want %v:\n%v", bySchema, !tt.byTemplate, err)
			}
		})
	}
}

// TestSchemaAcceptsTheDocumentedValues: values.yaml itself, and the overrides the README shows, pass.
func TestSchemaAcceptsTheDocumentedValues(t *testing.T) {
	for _, set := range [][]string{
		nil,
		{"crds.keep=false"},
		{"metrics.enabled=false", "networkPolicy.enabled=true"},
		{"serviceAccount.create=false", "serviceAccount.name=mine"},
		{"leaderElection.enabled=false", "replicaCount=1"},
		{"monitoring.podMonitor.enabled=true", "monitoring.podMonitor.namespaceSelector.matchNames[0]=apps"},
	} {
		if _, err := template(t, release{name: "kwps", namespace: "kwps-system", set: set}); err != nil {
			t.Errorf("--set %v: %v", set, err)
		}
	}
}
