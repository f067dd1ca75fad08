#pragma once

// The address of the client behind reverse proxies, from X-Forwarded-For. Pure functions;
// thread-safe.

#include <string_view>
#include <vector>

#include "common/ip_network.h"

namespace pactum::http {

// The client's address for a request whose TCP peer is `peer`.
//
// Only a peer inside `trusted_proxies` is believed: from any other peer X-Forwarded-For is
// ignored and the peer is the client. From a trusted peer, `forwarded_for` (the value of
// every X-Forwarded-For header line, in the order received; they are read as one
// comma-separated list) is walked from the right, where each proxy appends the address it
// received from: entries that are themselves trusted proxies are skipped and the first
// other one is the client. Entries to its left were written by the client and are never
// looked at. When every entry is a trusted proxy, the leftmost is the client. An entry
// that is not an IP address (spaces around it are fine; ports, brackets, "unknown" and
// empty entries are not) ends the walk and the peer is the client: a garbled header is
// never believed. No X-Forwarded-For at all: the peer.
IpAddress ClientAddress(const IpAddress& peer, const std::vector<std::string_view>& forwarded_for,
                        const std::vector<IpNetwork>& trusted_proxies);

}  // namespace pactum::http
