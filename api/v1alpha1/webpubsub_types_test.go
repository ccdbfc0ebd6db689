package v1alpha1

import (
	"os"
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/yaml"
)

func TestAccessKeysSecretName(t *testing.T) {
	tests := []struct {
		name string
		keys AccessKeysSpec
		want string
	}{
		{name: "generated", want: "sample-access-keys"},
		{name: "referenced", keys: AccessKeysSpec{SecretRef: &LocalObjectReference{Name: "mine"}}, want: "mine"},
		{name: "reference without a name", keys: AccessKeysSpec{SecretRef: &LocalObjectReference{}}, want: "sample-access-keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &WebPubSub{ObjectMeta: metav1.ObjectMeta{Name: "sample"}, Spec: WebPubSubSpec{AccessKeys: tt.keys}}
			if got := w.AccessKeysSecretName(); got != tt.want {
				t.Errorf("AccessKeysSecretName() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSamplesDecodeStrictly: every sample is a well-formed object of this API (the Hub samples are also
// loaded and validated by dataplane/hubconfig's tests).
func TestSamplesDecodeStrictly(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "config", "samples", "webpubsub_v1alpha1_*.yaml"))
	if err != nil || len(files) < 3 {
		t.Fatalf("samples: %v %v", files, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var head metav1.TypeMeta
			if err := yaml.Unmarshal(data, &head); err != nil {
				t.Fatal(err)
			}
			if gv := head.GroupVersionKind().GroupVersion(); gv != GroupVersion {
				t.Fatalf("apiVersion %q, want %s", head.APIVersion, GroupVersion)
			}
			obj, err := scheme.New(head.GroupVersionKind())
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.UnmarshalStrict(data, obj); err != nil {
				t.Fatal(err)
			}
		})
	}
}
