package scaleout

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// settle waits until every subscription the given processes requested so far is live in Redis. A
// process subscribes asynchronously, in call order (dataplane/backplane), so once a new connection's
// own channel is visible from another process, what its process asked for before is too.
func (cl *cluster) settle(tb testing.TB, nodes ...*node) {
	tb.Helper()
	for _, n := range nodes {
		probe := cl.connect(tb, n, "probe-"+n.name, "probe", clientOptions{})
		other := cl.nodes[0]
		if other == n {
			other = cl.nodes[1]
		}
		eventually(tb, waitFor, "probe connection on "+n.name+" visible from "+other.name, func() bool {
			return cl.exists(tb, other, connPath("probe", probe.id), nil)
		})
		probe.close()
	}
}

// waitMembers waits until listing group on n shows exactly members, with their users. Membership
// calls that act on other processes take effect shortly after they answer (see
// TestMembershipVisibleToNextCall); a listing gathers every process's answer over the group's channel,
// so once it shows the change, the processes holding the members have applied it and are subscribed.
func (cl *cluster) waitMembers(tb testing.TB, n *node, hub, group string, members ...*client) {
	tb.Helper()
	want := map[string]string{}
	for _, m := range members {
		want[m.id] = m.user
	}
	var got []member
	start := time.Now()
	for {
		got, _ = cl.listGroup(tb, n, hub, group, nil)
		if sameMembers(got, want) {
			return
		}
		if time.Since(start) > waitFor {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	checkMembers(tb, n.name+" after "+waitFor.String(), got, want)
	tb.FailNow()
}

// sameMembers reports whether a listing is exactly want (connectionId -> userId, "" for anonymous).
func sameMembers(got []member, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, m := range got {
		user, ok := want[m.ConnectionID]
		if !ok || (user == "") != (m.UserID == nil) || (m.UserID != nil && *m.UserID != user) {
			return false
		}
	}
	return true
}

// member is an entry of listConnectionsInGroup.
type member struct {
	ConnectionID string  `json:"connectionId"`
	UserID       *string `json:"userId"`
}

// listGroup lists a group's members on n, following nextLink (signed for its own URL, as the SDKs do);
// it checks that connection IDs ascend across pages.
func (cl *cluster) listGroup(tb testing.TB, n *node, hub, group string, query url.Values) ([]member, int) {
	tb.Helper()
	r := cl.must(tb, http.StatusOK, n, http.MethodGet, groupPath(hub, group)+"/connections", query, "", nil)
	var all []member
	for pages := 1; ; pages++ {
		var page struct {
			Value    []member `json:"value"`
			NextLink string   `json:"nextLink"`
		}
		if err := json.Unmarshal(r.body, &page); err != nil {
			tb.Fatalf("list %s on %s: %v: %s", group, n.name, err, r.body)
		}
		all = append(all, page.Value...)
		if !sort.SliceIsSorted(all, func(i, j int) bool { return all[i].ConnectionID < all[j].ConnectionID }) {
			tb.Fatalf("list %s on %s: page %d breaks connectionId order: %s", group, n.name, pages, r.body)
		}
		if page.NextLink == "" {
			return all, pages
		}
		if pages > 100 {
			tb.Fatalf("list %s on %s: more than 100 pages", group, n.name)
		}
		if !strings.HasPrefix(page.NextLink, n.endpoint.String()+"/") {
			tb.Fatalf("nextLink %q is not an absolute URL on %s", page.NextLink, n.endpoint)
		}
		if r = cl.callURL(tb, http.MethodGet, page.NextLink, "", nil); r.status != http.StatusOK {
			tb.Fatalf("GET nextLink %s: %d %s", page.NextLink, r.status, r.body)
		}
	}
}

// checkMembers compares a listing with the expected connectionId -> userId ("" for anonymous).
func checkMembers(tb testing.TB, where string, got []member, want map[string]string) {
	tb.Helper()
	seen := map[string]bool{}
	for _, m := range got {
		user, ok := want[m.ConnectionID]
		switch {
		case !ok:
			tb.Errorf("listed on %s: unexpected member %s", where, m.ConnectionID)
		case seen[m.ConnectionID]:
			tb.Errorf("listed on %s: %s twice", where, m.ConnectionID)
		case user == "" && m.UserID != nil, user != "" && (m.UserID == nil || *m.UserID != user):
			tb.Errorf("listed on %s: %s with userId %v, want %q", where, m.ConnectionID, m.UserID, user)
		}
		seen[m.ConnectionID] = true
	}
	for id := range want {
		if !seen[id] {
			ids := make([]string, 0, len(got))
			for _, m := range got {
				ids = append(ids, m.ConnectionID)
			}
			slices.Sort(ids)
			tb.Errorf("listed on %s: %s missing (got %v)", where, id, ids)
		}
	}
}
