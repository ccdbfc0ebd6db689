// Package rest serves the data-plane REST API of Azure Web PubSub, api-version 2024-12-01 and every
// earlier version (PROTOCOL.md §10): the 25 operations that the official server SDKs call to send
// messages, close connections, manage groups and permissions, list group members and issue client
// tokens.
//
// New returns an http.Handler for the paths under /api/; mount it there without stripping the prefix.
// The handler authenticates every operation but the health check with the `Authorization: Bearer`
// JWT (auth.Verifier.VerifyREST), validates every parameter, and calls gateway.Service. Errors have
// Azure's shape: a JSON body {"code","message","target"} and the x-ms-error-code header.
//
// Everything that comes from the network is bounded: the query string (MaxQueryBytes), bodies
// (MaxBodyBytes), repeated parameters (MaxExcluded, MaxTokenRoles, MaxTokenGroups), the groups of a
// bulk group call (MaxBulkGroups), IDs (MaxIDBytes) and close reasons (MaxReasonBytes).
//
// The handler holds no mutable state and is safe for concurrent use. It starts no goroutine.
package rest
