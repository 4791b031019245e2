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
// but it knows a bound: etcd renews a lease to a full TTL from the moment it
// receives a keep-alive, so a lease renewed by a request sent at T cannot
// expire before T + TTL. The gateway renews its lease itself every TTL/6
// (besides the session's own keep-alives) and stays live until a third of
// the TTL before that bound for the latest request etcd answered, however
// late the answer: then it stops holding its movable consoles (RunsHere
// turns false), before etcd can expire the lease and the others take them
// over. Answers late by a few seconds fence nothing. A gateway that fenced
// and is answered again under the same lease takes its consoles back at
// once: its key never left etcd, so nobody else held them. A console that
// moves to this gateway from a gateway still alive (a join, a gateway
// coming back) starts only after Grace (two thirds of the TTL + 1 s): the
// old holder sees the change and lets go at once, and even one cut off from
// etcd has fenced itself by then. A console whose holder left the cluster
// (its lease is gone, so it fenced itself earlier) starts at once.
package cluster
