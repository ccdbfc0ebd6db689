package rest

import (
	"net/url"
	"slices"
	"strings"
)

// LatestAPIVersion is the newest api-version served, used in nextLink URLs of requests that named none.
const LatestAPIVersion = "2024-12-01"

// apiVersions are the api-version values accepted: every version Azure has published (PROTOCOL.md
// §10.1). They differ only in operations added over time, so all of them get the same behaviour.
var apiVersions = []string{
	"2020-10-01",
	"2021-05-01-preview",
	"2021-08-01-preview",
	"2021-10-01",
	"2022-10-01-preview",
	"2022-11-01",
	"2023-07-01",
	"2024-01-01",
	LatestAPIVersion,
}

// APIVersions returns the accepted api-version values, oldest first.
func APIVersions() []string { return slices.Clone(apiVersions) }

// maxQuotedVersion bounds how much of an unknown api-version the error message echoes.
const maxQuotedVersion = 32

// checkAPIVersion accepts a missing api-version (Azure requires one; being liberal costs nothing) and any
// listed version, case-insensitively; anything else is a 400 listing the supported versions.
func checkAPIVersion(query url.Values) error {
	v := strings.TrimSpace(query.Get("api-version"))
	if v == "" || slices.Contains(apiVersions, strings.ToLower(v)) {
		return nil
	}
	if len(v) > maxQuotedVersion {
		v = v[:maxQuotedVersion] + "..."
	}
	return badParam("api-version", "The api-version '"+strings.ToValidUTF8(v, "?")+
		"' is not supported. Supported versions: "+strings.Join(apiVersions, ", ")+".")
}

// apiVersionOf returns the request's api-version, or LatestAPIVersion when it named none.
func apiVersionOf(query url.Values) string {
	if v := strings.TrimSpace(query.Get("api-version")); v != "" {
		return v
	}
	return LatestAPIVersion
}
