// Package scaleout tests kwps as several processes on one Redis, driven from outside: it starts a real
// redis-server (dataplane/backplane/redistest) and `kwps serve --redis` processes, connects
// json.webpubsub.azure.v1 clients with gobwas/ws, and calls the REST API signed as the SDKs sign it.
//
// What it proves (issue 7): every REST operation works from a process other than the one holding the
// connection, with what clients receive checked, not only status codes; a group membership change
// answered by one process is seen by the next call on another (read-your-writes); a client's
// sendToGroup reaches members on every process and noEcho holds; kill -9 of one process under traffic
// costs the others nothing; a Redis restart is survived without help, with readiness and metrics
// telling the story.
// BenchmarkCrossProcessFanout measures group fan-out across processes against one process.
//
// The tests build kwps from this checkout unless KWPS_BIN names a binary (a -race build finds data
// races in the gateway under real cluster traffic):
//
//	go build -race -o /tmp/kwps . && KWPS_BIN=/tmp/kwps go test -race ./test/scaleout/
//	go test -run='^$' -bench=. ./test/scaleout/
//
// Every kwps process runs in a process group of its own and is killed on every exit path of the test
// that started it; its log is printed when that test fails.
package scaleout
