#include "server/network.h"

#include <gtest/gtest.h>

#include <string>

namespace server {
namespace {

boost::asio::ip::address Ip(const std::string& text) { return boost::asio::ip::make_address(text); }

Network Net(const std::string& text) {
  auto network = ParseNetwork(text);
  EXPECT_TRUE(network.has_value()) << text;
  return network.value_or(Network{});
}

TEST(NetworkTest, ParsesValidForms) {
  struct Case {
    const char* text;
    const char* canonical;
  };
  for (const Case& c : {
           Case{"192.168.1.0/24", "192.168.1.0/24"},
           Case{"10.0.0.1", "10.0.0.1/32"},
           Case{"10.0.0.1/32", "10.0.0.1/32"},
           Case{"0.0.0.0/0", "0.0.0.0/0"},
           Case{"172.16.0.0/12", "172.16.0.0/12"},
           Case{"10.1.2.3/08", "10.1.2.3/8"},
           Case{"::1", "::1/128"},
           Case{"fd00::/8", "fd00::/8"},
           Case{"2001:db8::/32", "2001:db8::/32"},
           Case{"::/0", "::/0"},
           Case{"2001:db8::1/128", "2001:db8::1/128"},
           // v4-mapped: kept as IPv4, the prefix counted after ::ffff:0:0/96.
           Case{"::ffff:10.0.0.1", "10.0.0.1/32"},
           Case{"::ffff:10.0.0.0/104", "10.0.0.0/8"},
           Case{"::ffff:0.0.0.0/96", "0.0.0.0/0"},
           Case{"::ffff:10.0.0.1/128", "10.0.0.1/32"},
       }) {
    const auto network = ParseNetwork(c.text);
    ASSERT_TRUE(network.has_value()) << c.text;
    EXPECT_EQ(network->ToString(), c.canonical) << c.text;
  }
}

TEST(NetworkTest, RejectsInvalidForms) {
  for (const char* text : {
           "",
           "/24",
           "10.0.0.1/",
           "10.0.0.1/33",
           "10.0.0.1/-1",
           "10.0.0.1/+8",
           "10.0.0.1/8x",
           "10.0.0.1/ 8",
           "10.0.0.1/24/8",
           "10.0.0.1/99999999999999999999",
           "10.0.0.256",
           "10.0.0",
           " 10.0.0.1",
           "localhost",
           "host.example.com/24",
           "::1/129",
           "::ffff:10.0.0.0/95",  // reaches into the ::ffff prefix
           "::ffff:10.0.0.0/129",
           "1:2:3:4:5:6:7:8:9",
       }) {
    EXPECT_FALSE(ParseNetwork(text).has_value()) << '"' << text << '"';
  }
}

TEST(NetworkTest, ContainsIPv4) {
  const Network lan = Net("192.168.1.0/24");
  EXPECT_TRUE(lan.Contains(Ip("192.168.1.0")));
  EXPECT_TRUE(lan.Contains(Ip("192.168.1.77")));
  EXPECT_TRUE(lan.Contains(Ip("192.168.1.255")));
  EXPECT_FALSE(lan.Contains(Ip("192.168.2.1")));
  EXPECT_FALSE(lan.Contains(Ip("192.168.0.255")));
  EXPECT_FALSE(lan.Contains(Ip("10.0.0.1")));
  EXPECT_FALSE(lan.Contains(Ip("::1")));

  // Host bits in the base do not matter.
  EXPECT_TRUE(Net("192.168.1.99/24").Contains(Ip("192.168.1.3")));

  // Prefixes that do not end on a byte.
  const Network twelve = Net("172.16.0.0/12");
  EXPECT_TRUE(twelve.Contains(Ip("172.31.255.255")));
  EXPECT_FALSE(twelve.Contains(Ip("172.32.0.0")));
  EXPECT_FALSE(twelve.Contains(Ip("172.15.255.255")));
  const Network thirty_one = Net("10.0.0.2/31");
  EXPECT_TRUE(thirty_one.Contains(Ip("10.0.0.3")));
  EXPECT_FALSE(thirty_one.Contains(Ip("10.0.0.4")));
  EXPECT_FALSE(thirty_one.Contains(Ip("10.0.0.1")));
}

TEST(NetworkTest, ContainsSingleHostAndEverything) {
  const Network host = Net("10.0.0.1/32");
  EXPECT_TRUE(host.Contains(Ip("10.0.0.1")));
  EXPECT_FALSE(host.Contains(Ip("10.0.0.0")));
  EXPECT_FALSE(host.Contains(Ip("10.0.0.2")));
  EXPECT_TRUE(Net("10.0.0.1").Contains(Ip("10.0.0.1")));
  EXPECT_FALSE(Net("10.0.0.1").Contains(Ip("10.0.0.3")));

  const Network all_v4 = Net("0.0.0.0/0");
  EXPECT_TRUE(all_v4.Contains(Ip("0.0.0.0")));
  EXPECT_TRUE(all_v4.Contains(Ip("255.255.255.255")));
  EXPECT_TRUE(all_v4.Contains(Ip("::ffff:1.2.3.4"))) << "an IPv4 client over IPv6";
  EXPECT_FALSE(all_v4.Contains(Ip("::1"))) << "IPv6 is another family";

  const Network all_v6 = Net("::/0");
  EXPECT_TRUE(all_v6.Contains(Ip("::1")));
  EXPECT_TRUE(all_v6.Contains(Ip("2001:db8::1")));
  EXPECT_FALSE(all_v6.Contains(Ip("1.2.3.4")));
}

TEST(NetworkTest, ContainsIPv6) {
  const Network ula = Net("fd00:1234::/32");
  EXPECT_TRUE(ula.Contains(Ip("fd00:1234::1")));
  EXPECT_TRUE(ula.Contains(Ip("fd00:1234:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(ula.Contains(Ip("fd00:1235::1")));
  EXPECT_FALSE(ula.Contains(Ip("10.0.0.1")));

  const Network host = Net("2001:db8::1/128");
  EXPECT_TRUE(host.Contains(Ip("2001:db8::1")));
  EXPECT_FALSE(host.Contains(Ip("2001:db8::2")));
  EXPECT_TRUE(Net("::1").Contains(Ip("::1")));
  EXPECT_FALSE(Net("::1").Contains(Ip("::2")));

  const Network odd = Net("2001:db8::/127");
  EXPECT_TRUE(odd.Contains(Ip("2001:db8::1")));
  EXPECT_FALSE(odd.Contains(Ip("2001:db8::2")));
}

TEST(NetworkTest, V4MappedClientsMatchAsIPv4) {
  const Network lan = Net("192.168.1.0/24");
  EXPECT_TRUE(lan.Contains(Ip("::ffff:192.168.1.7")));
  EXPECT_FALSE(lan.Contains(Ip("::ffff:192.168.2.7")));
  EXPECT_TRUE(Net("10.0.0.1/32").Contains(Ip("::ffff:10.0.0.1")));

  // And a network written v4-mapped matches both forms of its clients.
  const Network mapped = Net("::ffff:10.0.0.0/104");
  EXPECT_TRUE(mapped.Contains(Ip("10.200.0.1")));
  EXPECT_TRUE(mapped.Contains(Ip("::ffff:10.200.0.1")));
  EXPECT_FALSE(mapped.Contains(Ip("11.0.0.1")));
  EXPECT_FALSE(mapped.Contains(Ip("::ffff:11.0.0.1")));
  // A v6 network is not fooled by the mapped form.
  EXPECT_FALSE(Net("::/1").Contains(Ip("::ffff:10.0.0.1")));
}

TEST(NetworkTest, Loopback) {
  EXPECT_TRUE(IsLoopback(Ip("127.0.0.1")));
  EXPECT_TRUE(IsLoopback(Ip("127.255.0.9")));
  EXPECT_TRUE(IsLoopback(Ip("::1")));
  EXPECT_TRUE(IsLoopback(Ip("::ffff:127.0.0.1")));
  EXPECT_FALSE(IsLoopback(Ip("10.0.0.1")));
  EXPECT_FALSE(IsLoopback(Ip("::2")));
  EXPECT_FALSE(IsLoopback(Ip("0.0.0.0")));
  EXPECT_FALSE(IsLoopback(Ip("::")));
}

}  // namespace
}  // namespace server
