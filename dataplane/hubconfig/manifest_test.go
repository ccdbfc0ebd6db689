package hubconfig

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kwps/kwps/api/v1alpha1"
)

// hubCase is one case of api/v1alpha1/testdata/hub_cases.yaml, which the CRD's envtest suite shares.
type hubCase struct {
	Name  string       `json:"name"`
	Valid bool         `json:"valid"`
	Field string       `json:"field"`
	Scope string       `json:"scope"`
	Hub   v1alpha1.Hub `json:"hub"`
}

func loadHubCases(t *testing.T) []hubCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "api", "v1alpha1", "testdata", "hub_cases.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []hubCase
	if err := yaml.UnmarshalStrict(data, &cases); err != nil {
		t.Fatalf("hub_cases.yaml: %v", err)
	}
	if len(cases) == 0 {
		t.Fatal("hub_cases.yaml has no cases")
	}
	return cases
}

// TestFromSpecAgreesWithCRD: FromSpec accepts and rejects what the Hub CRD does, and names the same field.
func TestFromSpecAgreesWithCRD(t *testing.T) {
	for _, tc := range loadHubCases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			h, err := FromSpec(&tc.Hub)
			wantValid := tc.Valid || tc.Scope == "cluster" // serve ignores what only the cluster checks
			if wantValid {
				if err != nil {
					t.Fatalf("FromSpec: %v, want valid", err)
				}
				if err := h.Validate(); err != nil {
					t.Fatalf("FromSpec returned a Hub that does not validate: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("FromSpec: %v, want a *FieldError for %s", err, tc.Field)
			}
			if fe.Field != tc.Field {
				t.Errorf("FromSpec error names %q, want %q (%v)", fe.Field, tc.Field, err)
			}
		})
	}
}

func TestFromSpec(t *testing.T) {
	keepAlive := int32(45)
	tests := []struct {
		name string
		hub  v1alpha1.Hub
		want Hub
	}{{
		name: "defaults",
		hub:  v1alpha1.Hub{ObjectMeta: metav1.ObjectMeta{Name: "Chat", Generation: 4}},
		want: Hub{
			Version: SchemaVersion, Name: "chat", Generation: 4, AnonymousConnectPolicy: AnonymousDeny,
			KeepAliveSeconds: DefaultKeepAliveSeconds, NotReadyMessage: notValidatedMessage,
		},
	}, {
		name: "every field, ARM spellings",
		hub: v1alpha1.Hub{
			ObjectMeta: metav1.ObjectMeta{Name: "my-chat"},
			Spec: v1alpha1.HubSpec{
				HubName:                             "My_Chat",
				WebPubSubRef:                        v1alpha1.WebPubSubReference{Name: "sample"},
				AnonymousConnectPolicy:              "allow",
				WebSocketKeepAliveIntervalInSeconds: &keepAlive,
				EventHandlers: []v1alpha1.EventHandler{{
					URLTemplate:      "https://up.example.com/{hub}/{event}",
					UserEventPattern: " message, chat ",
					SystemEvents:     []v1alpha1.SystemEvent{"connect", "disconnected"},
					Auth: v1alpha1.UpstreamAuthSettings{
						Type:            v1alpha1.UpstreamAuthManagedIdentity,
						ManagedIdentity: v1alpha1.ManagedIdentitySettings{Resource: "api://up"},
					},
					CodeSecretRef: &v1alpha1.SecretKeySelector{Name: "up", Key: "code"},
				}, {
					URLTemplate: "http://audit/{event}",
					// A resource without type ManagedIdentity is not sent anywhere, so it is not rendered.
					Auth: v1alpha1.UpstreamAuthSettings{ManagedIdentity: v1alpha1.ManagedIdentitySettings{Resource: "api://unused"}},
				}},
			},
		},
		want: Hub{
			Version: SchemaVersion, Name: "my_chat", AnonymousConnectPolicy: AnonymousAllow, KeepAliveSeconds: 45,
			NotReadyMessage: notValidatedMessage,
			EventHandlers: []EventHandler{{
				URLTemplate:      "https://up.example.com/{hub}/{event}",
				UserEventPattern: "message, chat",
				SystemEvents:     []string{EventConnect, EventDisconnected},
				Auth:             UpstreamAuth{Type: AuthManagedIdentity, Resource: "api://up"},
				CodeSecretRef:    &SecretKeyRef{Name: "up", Key: "code"},
			}, {
				URLTemplate: "http://audit/{event}",
				Auth:        UpstreamAuth{Type: AuthNone},
			}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromSpec(&tt.hub)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("FromSpec =\n%+v\nwant\n%+v", *got, tt.want)
			}
			// What the operator stores in the ConfigMap is what the gateways read back.
			data, err := got.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			back, err := Unmarshal(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, got) {
				t.Errorf("ConfigMap round trip =\n%+v\nwant\n%+v", back, got)
			}
		})
	}
}

func TestFromSpecNil(t *testing.T) {
	if _, err := FromSpec(nil); err == nil {
		t.Fatal("FromSpec(nil) succeeded")
	}
}

func TestFromSpecNameRequired(t *testing.T) {
	var fe *FieldError
	if _, err := FromSpec(&v1alpha1.Hub{}); !errors.As(err, &fe) || fe.Field != "metadata.name" {
		t.Fatalf("FromSpec(no name) = %v, want an error about metadata.name", err)
	}
}

func TestLoadManifests(t *testing.T) {
	const dir = "testdata/manifests"
	tests := []struct {
		name     string
		paths    []string
		wantHubs []string // names, in order
		wantErr  []string // substrings of the error, in order
	}{
		{name: "several documents", paths: []string{dir + "/multi.yaml"}, wantHubs: []string{"chat", "notify"}},
		{name: "a List", paths: []string{dir + "/list.yaml"}, wantHubs: []string{"game", "news"}},
		{name: "a directory, in name order, not recursive", paths: []string{dir + "/dir"}, wantHubs: []string{"chat", "news", "game"}},
		{name: "files and directories", paths: []string{dir + "/list.yaml", dir + "/dir/a-chat.yaml"}, wantHubs: []string{"game", "news", "chat"}},
		{name: "no paths", wantHubs: nil},
		{
			name: "the samples for the cluster", paths: []string{"../../config/samples/webpubsub_v1alpha1_webpubsub.yaml", "../../config/samples/webpubsub_v1alpha1_hub.yaml"},
			wantHubs: []string{"chat"},
		},
		{name: "the sample for make run", paths: []string{"../../config/samples/webpubsub_v1alpha1_hub_local.yaml"}, wantHubs: []string{"chat"}},
		{
			name: "unknown field", paths: []string{dir + "/bad/unknown-field.yaml"},
			wantErr: []string{dir + `/bad/unknown-field.yaml: Hub "chat": `, `unknown field "spec.eventHandlers[0].urlTemplat"`},
		},
		{
			name: "invalid value", paths: []string{dir + "/bad/invalid-url.yaml"},
			wantErr: []string{dir + `/bad/invalid-url.yaml: Hub "chat": spec.eventHandlers[0].urlTemplate: `, "not allowed in the host"},
		},
		{
			name: "unknown kind of this API", paths: []string{dir + "/bad/unknown-kind.yaml"},
			wantErr: []string{dir + `/bad/unknown-kind.yaml: Hubb "chat": unknown kind "Hubb"`},
		},
		{
			name: "unknown version of this API", paths: []string{dir + "/bad/unknown-version.yaml"},
			wantErr: []string{dir + `/bad/unknown-version.yaml: Hub "chat": unsupported apiVersion "webpubsub.kwps.io/v1"`},
		},
		{
			name: "no kind", paths: []string{dir + "/bad/no-kind.yaml"},
			wantErr: []string{dir + "/bad/no-kind.yaml: document 2: apiVersion and kind are required"},
		},
		{
			name: "duplicate key", paths: []string{dir + "/bad/duplicate-key.yaml"},
			wantErr: []string{dir + "/bad/duplicate-key.yaml: document 1: ", `"anonymousConnectPolicy" already set`},
		},
		{
			name: "wrong type", paths: []string{dir + "/bad/wrong-type.yaml"},
			wantErr: []string{dir + `/bad/wrong-type.yaml: Hub "chat": `, "webSocketKeepAliveIntervalInSeconds"},
		},
		{
			name: "two Hubs with the same hub name", paths: []string{dir + "/bad/same-hub-a.yaml", dir + "/bad/same-hub-b.yaml"},
			wantErr: []string{dir + `/bad/same-hub-b.yaml: Hub "chat-again": hub name "chat" is also defined by ` + dir + `/bad/same-hub-a.yaml: Hub "chat"`},
		},
		{name: "missing path", paths: []string{dir + "/nothing.yaml"}, wantErr: []string{"nothing.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hubs, err := LoadManifests(tt.paths...)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("LoadManifests succeeded with %d hubs, want an error", len(hubs))
				}
				msg := err.Error()
				for _, want := range tt.wantErr {
					i := strings.Index(msg, want)
					if i < 0 {
						t.Fatalf("error %q does not contain %q", err, want)
					}
					msg = msg[i+len(want):]
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, h := range hubs {
				names = append(names, h.Name)
				if h.Ready {
					t.Errorf("hub %s is Ready before its handlers were validated", h.Name)
				}
				if err := h.Validate(); err != nil {
					t.Errorf("hub %s does not validate: %v", h.Name, err)
				}
			}
			if !reflect.DeepEqual(names, tt.wantHubs) {
				t.Errorf("hubs = %v, want %v", names, tt.wantHubs)
			}
		})
	}
}

// TestLoadManifestsContent checks what a manifest renders to, beyond the names.
func TestLoadManifestsContent(t *testing.T) {
	hubs, err := LoadManifests("testdata/manifests/multi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []*Hub{{
		Version: SchemaVersion, Name: "chat", AnonymousConnectPolicy: AnonymousAllow, KeepAliveSeconds: DefaultKeepAliveSeconds,
		NotReadyMessage: notValidatedMessage,
		EventHandlers: []EventHandler{{
			URLTemplate:      "http://chat-upstream.default.svc/eventhandler/{event}",
			UserEventPattern: "*",
			SystemEvents:     []string{EventConnect, EventConnected, EventDisconnected},
			Auth:             UpstreamAuth{Type: AuthNone},
			CodeSecretRef:    &SecretKeyRef{Name: "chat-upstream", Key: "code"},
		}},
	}, {
		Version: SchemaVersion, Name: "notify", AnonymousConnectPolicy: AnonymousDeny, KeepAliveSeconds: 5,
		NotReadyMessage: notValidatedMessage,
	}}
	if !reflect.DeepEqual(hubs, want) {
		t.Errorf("LoadManifests =\n%+v\nwant\n%+v", hubs, want)
	}
}

// TestLoadManifestsFileSystem covers what is easier to build than to commit: a symlinked file (a mounted
// ConfigMap), an empty directory, and a file over the size limit.
func TestLoadManifestsFileSystem(t *testing.T) {
	hub, err := os.ReadFile("testdata/manifests/dir/a-chat.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mounted := t.TempDir()
	if err := os.Mkdir(filepath.Join(mounted, "..data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mounted, "..data", "chat.yaml"), hub, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..data", "chat.yaml"), filepath.Join(mounted, "chat.yaml")); err != nil {
		t.Fatal(err)
	}
	hubs, err := LoadManifests(mounted)
	if err != nil || len(hubs) != 1 || hubs[0].Name != "chat" {
		t.Errorf("mounted ConfigMap: hubs=%v err=%v, want the hub chat", hubs, err)
	}

	if hubs, err := LoadManifests(t.TempDir()); err != nil || len(hubs) != 0 {
		t.Errorf("empty directory: hubs=%v err=%v, want none", hubs, err)
	}

	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, []byte(strings.Repeat("#", MaxManifestBytes+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadManifests(big); err == nil || !strings.Contains(err.Error(), "big.yaml: larger than") {
		t.Errorf("oversized file: err=%v, want it refused", err)
	}
}

// FuzzDecodeManifest: no input panics, and every Hub that comes out is one the gateways accept.
func FuzzDecodeManifest(f *testing.F) {
	for _, file := range []string{"multi.yaml", "list.yaml", "bad/unknown-field.yaml", "bad/invalid-url.yaml", "bad/no-kind.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", "manifests", file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"apiVersion":"webpubsub.kwps.io/v1alpha1","kind":"Hub","metadata":{"name":"x"},"spec":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		found, err := decodeManifest("fuzz.yaml", data)
		if err != nil {
			return
		}
		for _, fh := range found {
			data, err := fh.hub.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Unmarshal(data); err != nil {
				t.Fatalf("decoded hub %+v is refused by the gateways: %v", fh.hub, err)
			}
		}
	})
}
