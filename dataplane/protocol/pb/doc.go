// Package pb holds the Go types generated from dataplane/protocol/webpubsub.proto, the messages of the
// protobuf.webpubsub.azure.v1 and protobuf.reliable.webpubsub.azure.v1 subprotocols.
//
// The gateway does not use them: package protocol encodes and decodes these messages by hand with
// protowire, without allocating on the hot path. The tests of package protocol use these types as the
// reference implementation that the hand-written codec must agree with. Regenerate with `make proto`.
package pb
