package hub_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kwps/kwps/api/v1alpha1"
)

// hubCase is one case of api/v1alpha1/testdata/hub_cases.yaml, shared with dataplane/hubconfig's
// FromSpec tests.
type hubCase struct {
	Name  string       `json:"name"`
	Valid bool         `json:"valid"`
	Field string       `json:"field"`
	Scope string       `json:"scope"`
	Hub   v1alpha1.Hub `json:"hub"`
}

// TestHubCasesAgainstTheAPIServer: the Hub CRD's schema and CEL rules accept and refuse what the shared
// cases say, naming the field, in a real API server (server-side dry run: nothing is stored).
func TestHubCasesAgainstTheAPIServer(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "api", "v1alpha1", "testdata", "hub_cases.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []hubCase
	if err := yaml.UnmarshalStrict(data, &cases); err != nil || len(cases) == 0 {
		t.Fatalf("hub_cases.yaml: %d cases, %v", len(cases), err)
	}
	ns := env.NewNamespace(t)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			h := tc.Hub.DeepCopy()
			h.Namespace = ns
			err := env.Client.Create(t.Context(), h, client.DryRunAll)
			if tc.Valid {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("got %v, want Invalid naming %s", err, tc.Field)
			}
			if !namesField(err, tc.Field) {
				t.Errorf("the error does not name %s: %v", tc.Field, err)
			}
		})
	}
}

// namesField reports whether an Invalid error has a cause for field. A rule on metadata.name is a rule
// of the object, reported without a field path (as "<nil>"): its message names the field.
func namesField(err error, field string) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Details == nil {
		return false
	}
	for _, c := range status.Status().Details.Causes {
		if c.Field == field || (field == "metadata.name" && strings.Contains(c.Message, ": metadata.name ")) {
			return true
		}
	}
	return false
}

// TestHubNameIsImmutable: the resolved hub name cannot change after creation, except in letter case.
func TestHubNameIsImmutable(t *testing.T) {
	ctx, g := t.Context(), NewWithT(t)
	ns := env.NewNamespace(t)
	tests := []struct {
		name    string
		hubName string // at creation
		update  string // the new spec.hubName
		allowed bool
	}{
		{name: "hubName to another name", hubName: "chat", update: "lobby"},
		{name: "hubName in another case", hubName: "chat", update: "CHAT", allowed: true},
		{name: "metadata.name to a hubName", update: "lobby"},
		{name: "metadata.name to the same name in another case", update: "Immutable3", allowed: true},
		{name: "hubName removed, metadata.name differs", hubName: "chat", update: ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHub(ns, "immutable"+strconv.Itoa(i), "sample")
			h.Spec.HubName = tt.hubName
			g.Expect(env.Client.Create(ctx, h)).To(Succeed())
			before := h.DeepCopy()
			h.Spec.HubName = tt.update
			err := env.Client.Patch(ctx, h, client.MergeFrom(before)) // no resourceVersion: the controller writes the status meanwhile
			if tt.allowed {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
			g.Expect(err.Error()).To(ContainSubstring("cannot change"))
		})
	}
}
