// Package e2e holds Ferry's end-to-end tests: they build the real ferry
// binary once, start it on free loopback ports with generated static and
// dynamic configuration files, and talk to it over real connections, with
// in-process backends (HTTP, WebSocket, server-sent events, gRPC) behind it.
//
// Run them with `go test ./test/e2e/`. FERRY_E2E_BIN names a prebuilt binary
// to use instead of building one. TestChaos, the chaos suite, runs its short
// form unless FERRY_CHAOS=full (make chaos).
package e2e
