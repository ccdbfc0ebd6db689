package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/kwps/kwps/dataplane/auth"
	"github.com/kwps/kwps/dataplane/gateway"
)

func members(n int) []gateway.ConnectionInfo {
	out := make([]gateway.ConnectionInfo, n)
	for i := range out {
		out[i] = gateway.ConnectionInfo{ConnectionID: fmt.Sprintf("conn-%04d", i)}
		if i%2 == 0 {
			out[i].UserID, out[i].HasUserID = fmt.Sprintf("user-%d", i), true
		}
	}
	return out
}

// TestPaging lists a group page by page, following nextLink exactly as the JS SDK's pager does: a GET of
// the absolute URL as given, with a token signed for that URL and no parameter added.
func TestPaging(t *testing.T) {
	tests := []struct {
		name      string
		members   int
		query     string
		wantPages []int
	}{
		{"default page size", 450, "", []int{200, 200, 50}},
		{"exact multiple of the page size", 10, "&maxpagesize=5", []int{5, 5}},
		{"top spread over pages", 100, "&maxpagesize=7&top=20", []int{7, 7, 6}},
		{"top smaller than a page", 100, "&top=10", []int{10}},
		{"top larger than the group", 12, "&maxpagesize=5&top=1000", []int{5, 5, 2}},
		{"top equal to the group", 6, "&maxpagesize=3&top=6", []int{3, 3}},
		{"empty group", 0, "", []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.svc.members = members(tt.members)
			link := e.srv.URL + "/api/hubs/Hub1/groups/g1/connections?" + v + tt.query
			var got []int
			var ids []string
			for link != "" {
				if len(got) > 10 {
					t.Fatal("nextLink never ends")
				}
				r := e.sendURL(http.MethodGet, link, req{})
				if r.status != http.StatusOK {
					t.Fatalf("GET %s: status %d, body %s", link, r.status, r.body)
				}
				var page struct {
					Value []struct {
						ConnectionID string  `json:"connectionId"`
						UserID       *string `json:"userId"`
					} `json:"value"`
					NextLink *string `json:"nextLink"`
				}
				if err := json.Unmarshal(r.body, &page); err != nil {
					t.Fatalf("body %s: %v", r.body, err)
				}
				if page.Value == nil {
					t.Fatalf("value is missing or null: %s", r.body)
				}
				got = append(got, len(page.Value))
				for _, m := range page.Value {
					ids = append(ids, m.ConnectionID)
					n := 0
					_, _ = fmt.Sscanf(m.ConnectionID, "conn-%d", &n)
					if hasUser := n%2 == 0; hasUser != (m.UserID != nil) {
						t.Errorf("%s: userId present = %v, want %v", m.ConnectionID, m.UserID != nil, hasUser)
					}
				}
				link = ""
				if page.NextLink != nil {
					link = *page.NextLink
					if !strings.HasPrefix(link, e.srv.URL+"/api/hubs/Hub1/groups/g1/connections?") {
						t.Fatalf("nextLink %q is not an absolute URL of this operation", link)
					}
					if u, _ := url.Parse(link); u.Query().Get("api-version") != "2024-12-01" {
						t.Errorf("nextLink %q lost api-version", link)
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.wantPages) {
				t.Errorf("page sizes %v, want %v", got, tt.wantPages)
			}
			for i, id := range ids {
				if id != e.svc.members[i].ConnectionID {
					t.Fatalf("member %d is %s, want %s (pages must neither skip nor repeat)", i, id, e.svc.members[i].ConnectionID)
				}
			}
		})
	}
}

// TestNextLinkOnPublicEndpoint checks that nextLink is built on the public endpoint, path prefix
// included, with the escaped group of the request.
func TestNextLinkOnPublicEndpoint(t *testing.T) {
	svc := &fakeService{members: members(3)}
	keys := auth.NewKeySet(testKey, "")
	public, _ := url.Parse("https://wps.example.com/prefix/")
	h := New(Options{
		Service:  svc,
		Verifier: &auth.Verifier{Keys: keys, PublicEndpoints: func() []*url.URL { return []*url.URL{public} }},
		Endpoint: func(*http.Request) *url.URL { return public },
	})
	target := "/api/hubs/h/groups/a%2Fb%20c/connections?maxpagesize=2"
	r := httptest.NewRequest(http.MethodGet, "http://10.0.0.1:8080"+target, nil)
	r.Header.Set("Authorization", "Bearer "+mustRESTToken(t, "https://wps.example.com/prefix"+target))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var page groupMemberPage
	if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil || w.Code != http.StatusOK {
		t.Fatalf("status %d, body %s", w.Code, w.Body)
	}
	want := "https://wps.example.com/prefix/api/hubs/h/groups/a%2Fb%20c/connections?api-version=2024-12-01&continuationToken=" +
		pageCursor{after: "conn-0001"}.encode() + "&maxpagesize=2"
	if page.NextLink != want {
		t.Errorf("nextLink = %s\n      want %s", page.NextLink, want)
	}
	if got := svc.recorded()[0].Target; got != "a/b c" {
		t.Errorf("group = %q, want %q", got, "a/b c")
	}
}

// TestContinuationTokenRoundTrip checks that any connection ID survives the cursor.
func TestContinuationTokenRoundTrip(t *testing.T) {
	for _, c := range []pageCursor{
		{after: "x"},
		{after: "a:b:c", remaining: 17},
		{after: "ünï/cødé ?&=", remaining: 1},
		{after: strings.Repeat("z", MaxIDBytes), remaining: 1<<31 - 1},
	} {
		got, err := parseCursor(c.encode())
		if err != nil || got != c {
			t.Errorf("parseCursor(encode(%+v)) = %+v, %v", c, got, err)
		}
	}
}
