package hubconfig

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/kwps/kwps/api/v1alpha1"
)

// MaxManifestBytes bounds the size of one manifest file.
const MaxManifestBytes = 8 << 20

// notValidatedMessage is the NotReadyMessage of a hub FromSpec returns.
const notValidatedMessage = "event handlers have not been validated yet"

// The rules of the Hub CRD that Normalize would otherwise paper over (case, whitespace, defaults). They
// repeat the CEL rules and bounds of api/v1alpha1/hub_types.go, so that a manifest `kwps serve` accepts is
// one the API server accepts; api/v1alpha1/testdata/hub_cases.yaml holds the cases both must agree on.
var (
	specURLSchemeRE  = regexp.MustCompile(`^[hH][tT][tT][pP][sS]?://[^/?#]+`)
	specURLHostRE    = regexp.MustCompile(`^[^:]*://[^/?#]*[{}]`)
	specURLParamsRE  = regexp.MustCompile(`^([^{}]|\{event\}|\{hub\})*$`)
	specUserEventsRE = regexp.MustCompile(`^\s*(\*|[A-Za-z][A-Za-z0-9_.\-]{0,127}(\s*,\s*[A-Za-z][A-Za-z0-9_.\-]{0,127})*)?\s*$`)
)

// Bounds of the Hub CRD (maxItems, maxLength).
const (
	specMaxHandlers   = 10
	specMaxHubName    = 128
	specMaxURLLength  = 2048
	specMaxPattern    = 2048
	specMaxResource   = 1024
	specMaxSecretName = 253
)

// FromSpec converts a Hub object into the rendered configuration: defaults applied, the hub name resolved
// (spec.hubName, else metadata.name) and lower-cased, CodeSecretRef copied (never its value). It is the one
// conversion both `kwps serve` and the operator use. It rejects exactly what the Hub CRD's validation
// rejects, with a *FieldError whose Field is the path in the object (e.g.
// "spec.eventHandlers[0].urlTemplate"); spec.webPubSubRef is not checked, since serve ignores it.
//
// The result has Ready=false: the caller sets Ready once every event handler passed the abuse-protection
// check (at once when there is none).
func FromSpec(hub *v1alpha1.Hub) (*Hub, error) {
	if hub == nil {
		return nil, errors.New("hubconfig: nil Hub")
	}
	if err := checkSpec(hub); err != nil {
		return nil, err
	}
	s := &hub.Spec
	h := &Hub{
		Version:                SchemaVersion,
		Name:                   CanonicalHub(resolvedName(hub)),
		Generation:             hub.Generation,
		AnonymousConnectPolicy: string(s.AnonymousConnectPolicy),
		NotReadyMessage:        notValidatedMessage,
	}
	if s.WebSocketKeepAliveIntervalInSeconds != nil {
		h.KeepAliveSeconds = int(*s.WebSocketKeepAliveIntervalInSeconds)
	}
	for i := range s.EventHandlers {
		h.EventHandlers = append(h.EventHandlers, handlerFromSpec(&s.EventHandlers[i]))
	}
	h.Normalize()
	// checkSpec is at least as strict as Validate; this guards the contract should the two drift apart.
	if err := h.Validate(); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return nil, &FieldError{Field: specPath(hub, fe.Field), Message: fe.Message}
		}
		return nil, err
	}
	return h, nil
}

func handlerFromSpec(in *v1alpha1.EventHandler) EventHandler {
	out := EventHandler{
		URLTemplate:      in.URLTemplate,
		UserEventPattern: in.UserEventPattern,
		Auth:             UpstreamAuth{Type: string(in.Auth.Type)},
	}
	for _, e := range in.SystemEvents {
		out.SystemEvents = append(out.SystemEvents, string(e))
	}
	if in.Auth.Type == v1alpha1.UpstreamAuthManagedIdentity {
		out.Auth.Resource = in.Auth.ManagedIdentity.Resource
	}
	if r := in.CodeSecretRef; r != nil {
		out.CodeSecretRef = &SecretKeyRef{Name: r.Name, Key: r.Key}
	}
	return out
}

// resolvedName is spec.hubName, or metadata.name when it is unset, as written.
func resolvedName(hub *v1alpha1.Hub) string {
	if hub.Spec.HubName != "" {
		return hub.Spec.HubName
	}
	return hub.Name
}

// specPath maps a path of the rendered Hub to the path of the field in the Hub object it came from.
func specPath(hub *v1alpha1.Hub, field string) string {
	if field == "hubName" && hub.Spec.HubName == "" {
		return "metadata.name"
	}
	return "spec." + field
}

// checkSpec applies the CRD's rules, in the order the API server reports them, to what Normalize would
// otherwise accept or rewrite.
func checkSpec(hub *v1alpha1.Hub) *FieldError {
	s := &hub.Spec
	switch {
	case s.HubName != "":
		if utf8.RuneCountInString(s.HubName) > specMaxHubName || !ValidHubName(s.HubName) {
			return &FieldError{"spec.hubName", fmt.Sprintf("%q must be a letter, then at most 127 letters, digits or _`,.[] characters", s.HubName)}
		}
	case hub.Name == "":
		return &FieldError{"metadata.name", "is required"}
	case !ValidHubName(hub.Name):
		return &FieldError{"metadata.name", fmt.Sprintf("%q is not a valid hub name (a letter, then letters, digits or _`,.[]): set spec.hubName", hub.Name)}
	}
	switch s.AnonymousConnectPolicy {
	case "", "Allow", "Deny", "allow", "deny":
	default:
		return &FieldError{"spec.anonymousConnectPolicy", fmt.Sprintf("%q must be one of Allow, Deny, allow, deny", s.AnonymousConnectPolicy)}
	}
	if k := s.WebSocketKeepAliveIntervalInSeconds; k != nil && (*k < MinKeepAliveSeconds || *k > MaxKeepAliveSeconds) {
		return &FieldError{"spec.webSocketKeepAliveIntervalInSeconds", fmt.Sprintf("%d must be between %d and %d", *k, MinKeepAliveSeconds, MaxKeepAliveSeconds)}
	}
	if n := len(s.EventHandlers); n > specMaxHandlers {
		return &FieldError{"spec.eventHandlers", fmt.Sprintf("has %d items, at most %d are allowed", n, specMaxHandlers)}
	}
	for i := range s.EventHandlers {
		if err := checkHandler(&s.EventHandlers[i]); err != nil {
			err.Field = fmt.Sprintf("spec.eventHandlers[%d].%s", i, err.Field)
			return err
		}
	}
	return nil
}

func checkHandler(eh *v1alpha1.EventHandler) *FieldError {
	if err := checkURLTemplate(eh.URLTemplate); err != nil {
		return &FieldError{"urlTemplate", err.Error()}
	}
	if p := eh.UserEventPattern; utf8.RuneCountInString(p) > specMaxPattern || !specUserEventsRE.MatchString(p) {
		return &FieldError{"userEventPattern", fmt.Sprintf("%q must be empty, * or a comma-separated list of event names (a letter, then letters, digits, _ . or -)", p)}
	}
	seen := map[v1alpha1.SystemEvent]bool{}
	for j, e := range eh.SystemEvents {
		switch e {
		case v1alpha1.SystemEventConnect, v1alpha1.SystemEventConnected, v1alpha1.SystemEventDisconnected:
		default:
			return &FieldError{fmt.Sprintf("systemEvents[%d]", j), fmt.Sprintf("%q must be one of connect, connected, disconnected", e)}
		}
		if seen[e] {
			return &FieldError{fmt.Sprintf("systemEvents[%d]", j), fmt.Sprintf("duplicate value %q", e)}
		}
		seen[e] = true
	}
	switch eh.Auth.Type {
	case "", v1alpha1.UpstreamAuthNone, v1alpha1.UpstreamAuthManagedIdentity:
	default:
		return &FieldError{"auth.type", fmt.Sprintf("%q must be None or ManagedIdentity", eh.Auth.Type)}
	}
	if r := eh.Auth.ManagedIdentity.Resource; utf8.RuneCountInString(r) > specMaxResource {
		return &FieldError{"auth.managedIdentity.resource", fmt.Sprintf("must be at most %d characters", specMaxResource)}
	}
	if eh.Auth.Type == v1alpha1.UpstreamAuthManagedIdentity && eh.Auth.ManagedIdentity.Resource == "" {
		return &FieldError{"auth.managedIdentity.resource", "is required when auth.type is ManagedIdentity"}
	}
	if r := eh.CodeSecretRef; r != nil {
		if err := checkSecretKey(r); err != nil {
			err.Field = "codeSecretRef." + err.Field
			return err
		}
	}
	return nil
}

// checkURLTemplate is the CRD's view of ValidateURLTemplate: the same rules, with its messages, and a
// length that the API server counts in characters as well as in bytes.
func checkURLTemplate(t string) error {
	switch {
	case t == "":
		return errors.New("is required")
	case utf8.RuneCountInString(t) > specMaxURLLength || len(t) > specMaxURLLength:
		return fmt.Errorf("must be at most %d bytes long", specMaxURLLength)
	case !specURLSchemeRE.MatchString(t):
		return fmt.Errorf("%q must be an absolute http:// or https:// URL with a host", t)
	case specURLHostRE.MatchString(t):
		return fmt.Errorf("%q: parameters such as {event} and {hub} are not allowed in the host", t)
	case !specURLParamsRE.MatchString(t):
		return fmt.Errorf("%q: the only parameters are {event} and {hub}; percent-encode a literal { or } as %%7B or %%7D", t)
	}
	return nil
}

func checkSecretKey(r *v1alpha1.SecretKeySelector) *FieldError {
	for _, f := range []struct{ field, value string }{{"name", r.Name}, {"key", r.Key}} {
		switch n := utf8.RuneCountInString(f.value); {
		case n == 0:
			return &FieldError{f.field, "is required"}
		case n > specMaxSecretName:
			return &FieldError{f.field, fmt.Sprintf("must be at most %d characters", specMaxSecretName)}
		}
	}
	return nil
}

// LoadManifests reads the Hubs of Kubernetes manifests, as `kwps serve -f` does. Each path is a file or a
// directory, whose *.yaml, *.yml and *.json files are read in name order (not recursively). A YAML file
// may hold several documents separated by `---`, and a document may be a List, as with `kubectl apply
// -f`. Documents of other API groups, and WebPubSubs, are skipped.
//
// Decoding is strict: an unknown or duplicate field, a webpubsub.kwps.io kind or version this build does
// not know, a value FromSpec rejects, and two Hubs that resolve to the same hub name are errors that
// name the file, the document and the field, e.g.
// `chat.yaml: Hub "chat": spec.eventHandlers[0].urlTemplate: "ftp://x" must be ...`.
//
// The hubs are returned in file and document order, with Ready=false (see FromSpec).
func LoadManifests(paths ...string) ([]*Hub, error) {
	var files []string
	for _, p := range paths {
		fs, err := manifestFiles(p)
		if err != nil {
			return nil, err
		}
		files = append(files, fs...)
	}
	var hubs []*Hub
	definedBy := map[string]string{} // hub name -> where it was defined, for the duplicate error
	for _, file := range files {
		data, err := readManifest(file)
		if err != nil {
			return nil, err
		}
		found, err := decodeManifest(file, data)
		if err != nil {
			return nil, err
		}
		for _, f := range found {
			if prev, ok := definedBy[f.hub.Name]; ok {
				return nil, fmt.Errorf("%s: hub name %q is also defined by %s", f.where, f.hub.Name, prev)
			}
			definedBy[f.hub.Name] = f.where
			hubs = append(hubs, f.hub)
		}
	}
	return hubs, nil
}

// manifestFiles expands a path given to LoadManifests into the files it names.
func manifestFiles(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".yaml", ".yml", ".json":
		default:
			continue
		}
		file := filepath.Join(path, e.Name())
		// Stat follows symlinks, as in a mounted ConfigMap (chat.yaml -> ..data/chat.yaml).
		if fi, err := os.Stat(file); err != nil || fi.IsDir() {
			continue
		}
		files = append(files, file)
	}
	return files, nil
}

func readManifest(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(data) > MaxManifestBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, MaxManifestBytes)
	}
	return data, nil
}

// foundHub is a Hub decoded from a manifest, and where it came from (`file: Hub "name"`).
type foundHub struct {
	hub   *Hub
	where string
}

// objectHead is what decides how a document is decoded.
type objectHead struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	// Items are the objects of a List.
	Items []json.RawMessage `json:"items"`
}

// decodeManifest decodes the Hubs of one file's contents; file only names it in errors.
func decodeManifest(file string, data []byte) ([]foundHub, error) {
	if strings.EqualFold(filepath.Ext(file), ".json") {
		return decodeObject(file, file+": document 1", data, true)
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var found []foundHub
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		where := fmt.Sprintf("%s: document %d", file, i)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		js, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			continue // only comments
		}
		hubs, err := decodeObject(file, where, js, true)
		if err != nil {
			return nil, err
		}
		found = append(found, hubs...)
	}
	return found, nil
}

// decodeObject decodes one JSON object; a List's items are decoded in turn (not nested Lists).
func decodeObject(file, where string, js []byte, listAllowed bool) ([]foundHub, error) {
	var head objectHead
	if err := json.Unmarshal(js, &head); err != nil {
		return nil, fmt.Errorf("%s: not a Kubernetes object: %w", where, err)
	}
	if head.APIVersion == "" || head.Kind == "" {
		return nil, fmt.Errorf("%s: apiVersion and kind are required", where)
	}
	gv, err := schema.ParseGroupVersion(head.APIVersion)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if head.Metadata.Name != "" {
		where = fmt.Sprintf("%s: %s %q", file, head.Kind, head.Metadata.Name)
	}
	isList := (head.Kind == "List" && gv.Group == "") || (head.Kind == "HubList" && gv.Group == v1alpha1.GroupVersion.Group)
	switch {
	case isList && listAllowed:
		var found []foundHub
		for j, item := range head.Items {
			hubs, err := decodeObject(file, fmt.Sprintf("%s: item %d", where, j+1), item, false)
			if err != nil {
				return nil, err
			}
			found = append(found, hubs...)
		}
		return found, nil
	case gv.Group != v1alpha1.GroupVersion.Group:
		return nil, nil // another API's object, e.g. the Deployment of the upstream
	case gv.Version != v1alpha1.GroupVersion.Version:
		return nil, fmt.Errorf("%s: unsupported apiVersion %q (this build reads %s)", where, head.APIVersion, v1alpha1.GroupVersion)
	case head.Kind == "WebPubSub" || head.Kind == "WebPubSubList":
		return nil, nil
	case head.Kind != "Hub":
		return nil, fmt.Errorf("%s: unknown kind %q in %s (expected Hub or WebPubSub)", where, head.Kind, v1alpha1.GroupVersion)
	}
	var hub v1alpha1.Hub
	strict, err := kjson.UnmarshalStrict(js, &hub)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if len(strict) > 0 {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = e.Error()
		}
		return nil, fmt.Errorf("%s: %s", where, strings.Join(msgs, "; "))
	}
	h, err := FromSpec(&hub)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return []foundHub{{hub: h, where: where}}, nil
}
