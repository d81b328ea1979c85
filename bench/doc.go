// Package bench is the load client behind sluice-bench: it holds many
// SSE and WebSocket streams against a Mastodon streaming server on this
// machine (Sluice, or Mastodon's own Node server), publishes realistic
// messages into Redis, and accounts for every delivery.
//
// It shares no code with the server: the HTTP, chunked, SSE and WebSocket
// client parsers here are written independently of proto and netpoll, so a
// misreading of the protocol on one side cannot hide the same misreading on
// the other.
//
// Layout:
//
//   - target.go, srcaddr.go, limits.go: where traffic may go (loopback
//     only), source-address spreading, descriptor limits and the split into
//     worker processes.
//   - engine.go, loop.go, conn.go, wsclient.go: the client. One epoll loop
//     per core, ~300 bytes of state per connection, no buffers while idle.
//   - marker.go, track.go, hist.go: the delivery marker in each payload,
//     per-connection loss/duplicate/order accounting, and a log-linear
//     (HdrHistogram-style) latency histogram.
//   - fleet.go, worker.go: running connections in this process or in
//     re-executed worker processes, and merging their counts.
//   - hold.go, fanout.go, storm.go, mixed.go, compare.go, suite.go: the
//     scenarios; runner.go and progress.go are what they share.
//   - report.go, chart.go, chartpng.go, machine.go: tables, JSON, markdown
//     for BENCHMARKS.md, and hand-drawn SVG and PNG charts.
//
// Linux only: it uses epoll and /proc.
package bench
