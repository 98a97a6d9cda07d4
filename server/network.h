// Client address filters: "--allow 192.168.1.0/24" (or a single address).
#pragma once

#include <boost/asio/ip/address.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace server {

struct Network {
  boost::asio::ip::address base;
  unsigned prefix_length = 0;

  bool Contains(const boost::asio::ip::address& address) const;
  std::string ToString() const;
};

// "ADDR/LEN" or "ADDR" (a single host); nullopt if malformed. IPv4-mapped
// IPv6 clients are matched as IPv4.
std::optional<Network> ParseNetwork(std::string_view text);

// 127.0.0.0/8 and ::1: who may connect when nothing else is allowed.
bool IsLoopback(const boost::asio::ip::address& address);

}  // namespace server
