#include "server/network.h"

#include <array>
#include <charconv>

namespace server {

namespace {

boost::asio::ip::address Unmapped(const boost::asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  }
  return a;
}

template <size_t N>
bool PrefixMatches(const std::array<unsigned char, N>& a, const std::array<unsigned char, N>& b,
                   unsigned bits) {
  for (size_t i = 0; i < N && bits > 0; ++i) {
    const unsigned take = bits >= 8 ? 8 : bits;
    const auto mask = static_cast<unsigned char>(0xff << (8 - take));
    if ((a[i] & mask) != (b[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

}  // namespace

bool Network::Contains(const boost::asio::ip::address& address) const {
  const auto a = Unmapped(address);
  if (a.is_v4() != base.is_v4()) return false;
  if (a.is_v4()) return PrefixMatches(a.to_v4().to_bytes(), base.to_v4().to_bytes(), prefix_length);
  return PrefixMatches(a.to_v6().to_bytes(), base.to_v6().to_bytes(), prefix_length);
}

std::string Network::ToString() const {
  return base.to_string() + "/" + std::to_string(prefix_length);
}

std::optional<Network> ParseNetwork(std::string_view text) {
  const size_t slash = text.find('/');
  boost::system::error_code error;
  const auto base = boost::asio::ip::make_address(std::string(text.substr(0, slash)), error);
  if (error) return std::nullopt;
  Network network{Unmapped(base), 0};
  network.prefix_length = network.base.is_v4() ? 32u : 128u;
  // A v4-mapped network ("::ffff:10.0.0.0/104") is kept as IPv4, so its
  // prefix counts from the end of the ::ffff:0:0/96 prefix.
  const unsigned mapped_bits = network.base.is_v4() && base.is_v6() ? 96u : 0u;
  if (slash != std::string_view::npos) {
    const std::string_view length = text.substr(slash + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), value);
    if (ec != std::errc() || end != length.data() + length.size() || length.empty() ||
        value < mapped_bits || value - mapped_bits > network.prefix_length) {
      return std::nullopt;
    }
    network.prefix_length = value - mapped_bits;
  }
  return network;
}

bool IsLoopback(const boost::asio::ip::address& address) { return Unmapped(address).is_loopback(); }

}  // namespace server
