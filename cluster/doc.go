// Package cluster makes many consoled gateways one namespace of consoles,
// coordinated through etcd v3.
//
// Membership: each gateway holds one etcd lease (a concurrency.Session,
// kept alive by the client) and publishes itself under it at
// PREFIX/gateways/NAME: its SSH address and host key. A gateway that dies
// loses its lease and its key with it; the others watch the prefix. A steady
// cluster writes nothing: the lease keep-alives are its only traffic.
//
// Ownership is computed, never written: a pinned console (gateway = "gw1",
// e.g. a serial line) runs only on its gateway; a movable one is held by the
// live gateway that rendezvous hashing picks (Owner), which every gateway
// computes alike from the member list, and a join or leave moves only the
// consoles that must move.
//
// Fencing is about time. A gateway cannot know when etcd expires its lease,
// only when its last keep-alive succeeded: once half the TTL has passed
// without one, it stops holding its movable consoles (RunsHere turns false),
// well before etcd can expire the lease and the others take them over. A
// console that moves to this gateway from a gateway still alive (a join, a
// gateway coming back) starts only after Grace: the old holder sees the
// change and lets go at once, and even one cut off from etcd has fenced
// itself by then. A console whose holder left the cluster (its lease is
// gone, so it fenced itself at least TTL/2 earlier) starts at once.
package cluster
