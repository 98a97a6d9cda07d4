#include "server/nfs_server.h"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <thread>

#include "vaultcore/log.h"

namespace server {

using boost::asio::ip::tcp;
using vaultcore::Log;
using vaultcore::LogLevel;

namespace {

unsigned WorkerCount(unsigned requested) {
  if (requested != 0) return requested;
  return std::max(2u, std::thread::hardware_concurrency());
}

std::string ToString(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

}  // namespace

NfsServer::NfsServer(Export& exp, ServerOptions options)
    : options_(std::move(options)),
      dispatcher_(exp, options_.dispatch),
      in_flight_(options_.connection.max_bytes_in_flight),
      workers_(WorkerCount(options_.worker_threads)),
      disk_waits_(std::max(1u, options_.disk_wait_threads)),
      sharing_(workers_, WorkerCount(options_.worker_threads) - 1) {}

NfsServer::~NfsServer() {
  Stop();
  workers_.join();
  disk_waits_.join();
}

vaultcore::Status NfsServer::Bind(const tcp::endpoint& endpoint) {
  auto acceptor = std::make_unique<tcp::acceptor>(io_);
  boost::system::error_code error;
  acceptor->open(endpoint.protocol(), error);
  if (!error) acceptor->set_option(tcp::acceptor::reuse_address(true), error);
  if (!error && endpoint.address().is_v6()) {
    acceptor->set_option(boost::asio::ip::v6_only(true), error);
  }
  if (!error) acceptor->bind(endpoint, error);
  if (!error) acceptor->listen(boost::asio::socket_base::max_listen_connections, error);
  if (error) {
    return vaultcore::Status(error == boost::asio::error::address_in_use ? vaultcore::Errc::kExists
                                                                         : vaultcore::Errc::kIo,
                             "cannot listen on " + ToString(endpoint) + ": " + error.message());
  }
  acceptors_.push_back(std::move(acceptor));
  return vaultcore::Status::Ok();
}

vaultcore::Status NfsServer::Listen() {
  for (const tcp::endpoint& endpoint : options_.listen) {
    if (vaultcore::Status s = Bind(endpoint); !s.ok()) return s;
  }
  for (tcp::endpoint endpoint : options_.listen_if_available) {
    if (endpoint.port() == 0 && !acceptors_.empty()) {
      endpoint.port(acceptors_.front()->local_endpoint().port());
    }
    if (vaultcore::Status s = Bind(endpoint); !s.ok()) {
      Log(LogLevel::kDebug, "not listening on " + ToString(endpoint) + ": " + s.message());
    }
  }
  return vaultcore::Status::Ok();
}

std::vector<tcp::endpoint> NfsServer::endpoints() const {
  std::vector<tcp::endpoint> bound;
  for (const auto& acceptor : acceptors_) {
    boost::system::error_code error;
    auto endpoint = acceptor->local_endpoint(error);
    if (!error) bound.push_back(endpoint);
  }
  return bound;
}

bool NfsServer::IsAllowed(const boost::asio::ip::address& address) const {
  if (IsLoopback(address)) return true;
  return std::any_of(options_.allow.begin(), options_.allow.end(),
                     [&](const Network& n) { return n.Contains(address); });
}

void NfsServer::Accept(tcp::acceptor& acceptor) {
  acceptor.async_accept(
      [this, &acceptor](const boost::system::error_code& error, tcp::socket socket) {
        if (stopping_) return;
        if (error) {
          if (error != boost::asio::error::operation_aborted) {
            Log(LogLevel::kWarning, "accept failed: " + error.message());
          }
          Accept(acceptor);
          return;
        }
        boost::system::error_code ignored;
        const tcp::endpoint remote = socket.remote_endpoint(ignored);
        ClientInfo client{remote.address().to_string(), remote.port()};
        if (!IsAllowed(remote.address())) {
          Log(LogLevel::kWarning,
              "refused client " + ToString(remote) + ": not a loopback address and not in --allow");
          socket.close(ignored);
        } else if (connections_.size() >= options_.max_connections) {
          Log(LogLevel::kWarning, "refused client " + ToString(remote) + ": already " +
                                      std::to_string(connections_.size()) + " connections");
          socket.close(ignored);
        } else {
          Log(LogLevel::kInfo, "client " + ToString(remote) + " connected");
          auto connection = std::make_shared<Connection>(
              std::move(socket), std::move(client), dispatcher_,
              ThreadPools{workers_, disk_waits_, sharing_}, options_.connection, in_flight_,
              [this](Connection* closed) { connections_.erase(closed); });
          connections_.emplace(connection.get(), connection);
          connection->Start();
        }
        Accept(acceptor);
      });
}

void NfsServer::Run() {
  for (auto& acceptor : acceptors_) Accept(*acceptor);
  io_.run();
}

void NfsServer::Stop() {
  boost::asio::post(io_, [this] {
    if (stopping_) return;
    stopping_ = true;
    for (auto& acceptor : acceptors_) {
      boost::system::error_code ignored;
      acceptor->close(ignored);
    }
    // Close() unregisters each connection, so iterate over a copy.
    auto open = connections_;
    for (auto& [raw, connection] : open) connection->Close();
  });
  // Closed sockets end their reads; calls on the pools post their replies to
  // io_, which drops them; io_.run() returns when nothing is left.
}

}  // namespace server
