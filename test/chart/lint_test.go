package chart

import "testing"

// TestLint: helm lint --strict passes with the default values and with every option on.
func TestLint(t *testing.T) {
	for _, r := range []release{defaultRelease, customRelease} {
		t.Run(r.String(), func(t *testing.T) {
			args := append([]string{"lint", "--strict", "--kube-version", kubeVersion, "--namespace", r.namespace, chartDir()}, r.args()...)
			if out, err := helm(t, args...); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}
