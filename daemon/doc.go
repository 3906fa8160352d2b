// Package daemon is the codecommitd process: it listens on a private Unix
// socket, authorizes every connection by the kernel's record of the peer
// (same user only), serves a broker.Broker (package localbroker) over gRPC
// with health and reflection, keeps room for new connections however many
// connections and streams clients hold (limit.go), writes the audit log,
// hardens the process, re-reads configuration on SIGHUP and stops when idle.
//
// Run builds every part first (the instance lock, the cache, the broker,
// the gRPC server, the socket, the SIGHUP handler, the idle exit), then runs
// them, each a service (String, Run), under one errgroup until its context
// ends; the socket is listened on only once the rest can answer.
//
// What a request does once admitted lives elsewhere: resolution, MFA and
// signing in package localbroker, refresh and persistence of credentials in
// package credmgr.
package daemon
