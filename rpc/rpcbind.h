// Registration of our RPC services with the local rpcbind (the portmapper):
// NFS clients ask it for the NFS and MOUNT ports unless the mount options
// name them (port=, mountport=).
//
// We speak rpcbind protocol version 4 (RFC 1833) through libtirpc, to the
// daemon's AF_LOCAL socket when it exists (rpcbind then records our uid as the
// owner, which lets root replace anyone's stale entry) and to 127.0.0.1:111
// otherwise. rpcbind itself derives the portmap version 2 view (`rpcinfo -p`)
// from the "tcp" entries, so v2-only clients are served too.
//
// Every call is bounded by RpcbindOptions::timeout: a missing, wedged or
// stopped rpcbind yields an error, never a hang. The calls are blocking and
// meant for start-up and shutdown; they are safe to call from any one thread
// at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>

#include "vaultcore/status.h"

namespace rpc {

// One program/version served over TCP on `port` of every local address.
struct RpcbindMapping {
  uint32_t program = 0;
  uint32_t version = 0;
  uint16_t port = 0;
  // The service also accepts IPv6 connections: register netid "tcp6" as
  // well as "tcp". Leave false when only IPv4 is served, or IPv6 clients
  // would be sent to a port that refuses them.
  bool ipv6 = false;
};

// Where and how patiently to look for rpcbind. The defaults are the real
// daemon; tests point them elsewhere.
struct RpcbindOptions {
  // Tried first. libtirpc's path; /var/run is /run on current systems.
  std::string local_socket = "/var/run/rpcbind.sock";
  // TCP port on 127.0.0.1, tried when the socket is missing or refuses the
  // connection. 0: do not try TCP.
  uint16_t loopback_port = 111;
  // Budget for the whole Register or Unregister call.
  std::chrono::milliseconds timeout{5000};
};

// Registers every mapping (distinct program/version pairs), first removing
// whatever rpcbind holds for the same program and version on any netid: the
// stale entries of an earlier run or of another server. All or nothing: on
// failure the mappings already set are removed again. The error says whether
// rpcbind is not running (and how to start it), did not answer in time, or
// refused a mapping (an entry that belongs to another user).
vaultcore::Status RegisterWithRpcbind(std::span<const RpcbindMapping> mappings,
                                      const RpcbindOptions& options = {});

// Removes the mappings' "tcp" (and "tcp6") entries, for shutdown. Best
// effort: errors are ignored, and the call gives up at the first one.
void UnregisterFromRpcbind(std::span<const RpcbindMapping> mappings,
                           const RpcbindOptions& options = {});

}  // namespace rpc
