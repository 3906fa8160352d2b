// Package daemon is codecommitd: the per-user service that resolves AWS
// profiles into credentials, keeps them fresh, and signs CodeCommit git
// passwords for clients on a private Unix socket.
//
// It owns:
//   - Service, the broker.Broker implementation: profile resolution (through
//     package awsprofile), signing, status and forgetting;
//   - Manager, one credential entry per resolved-profile key, refreshed ahead
//     of expiry with jitter, one refresh in flight per key, stale-while-
//     failing with backoff, warm in the background while recently used;
//   - the MFA gate, which lets one client prompt while the others wait;
//   - the gRPC adapter, peer authorization by kernel credentials (same UID
//     only) and the audit log of every request;
//   - the socket: private directory, instance lock, stale-socket removal;
//   - Run, which supervises all of the above until its context ends.
package daemon
