// One client's TCP connection: reads RPC records, hands each call to the
// dispatcher, and writes each reply whole (record mark and body, with any
// small replies waiting behind it, in one gather write) as soon as it is
// ready, so replies may leave in another order than their calls arrived.
// Calls in flight are bounded, per connection by count and over the
// server's connections by bytes: past the bound the connection stops
// reading until replies drain, which pushes back on the client through
// TCP.
//
// Every method runs on the server's single I/O thread; the thread pools
// hand calls back by posting to it. The connection keeps itself alive
// (shared_ptr) while a read, a write or a pool thread holds it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>

#include <array>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "rpc/record.h"
#include "server/block_pool.h"
#include "server/call.h"
#include "server/dispatcher.h"
#include "server/pool_work_sharing.h"

namespace server {

// The server's thread pools, which must outlive every connection.
struct ThreadPools {
  boost::asio::thread_pool& workers;     // Dispatch::kWorker
  boost::asio::thread_pool& disk_waits;  // Dispatch::kDiskWait
  // Calls on either pool share large chunk crypto through it (with idle
  // workers), and it counts them; it must outlive them too.
  PoolWorkSharing& sharing;
};

// What all connections of a server share for their calls in flight; it
// must outlive the connections and their calls.
struct ServerInFlight {
  // As many bytes as the calls may hold are kept for reuse (see block_pool.h).
  explicit ServerInFlight(size_t max_bytes) : blocks(max_bytes) {}

  size_t bytes = 0;  // record and reply bytes; touched only on the I/O thread
  BlockPool blocks;  // where large replies are allocated, on any thread
};

struct ConnectionLimits {
  size_t max_record_size = (1 << 20) + (16 << 10);  // a 1 MiB WRITE and its headers
  size_t max_calls_in_flight = 128;
  // Record and reply bytes of the calls in flight over all connections (a
  // READ's reply from the moment its call is read): with 1 MiB WRITEs and
  // READs the call count alone would allow 128 MiB per connection. Past
  // the bound a connection reads another call only when it has none in
  // flight, so none starves; further calls wait in the socket. 16 MiB
  // keeps both workers busy (measured: 1 MiB WRITEs at 8 and 32 in flight
  // ran as fast as with 64 MiB, and four clients mixing 1 MiB READs as
  // fast as with 16 MiB each) and the server's peak memory in bounds.
  size_t max_bytes_in_flight = 16 << 20;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::ip::tcp::socket socket, ClientInfo client, Dispatcher& dispatcher,
             ThreadPools pools, ConnectionLimits limits, ServerInFlight& server_in_flight,
             std::function<void(Connection*)> on_close);

  // Gives back to the server's count what replies never written still
  // held (the last owner is the I/O thread: pool threads post back).
  ~Connection();

  void Start();
  // Closes the socket; calls still on workers finish and are discarded.
  void Close();
  const ClientInfo& client() const { return client_; }

 private:
  void ReadMore();
  // Receives the rest of a large fragment straight into its record.
  void ReadFragment();
  void ReadFailed(const boost::system::error_code& error);
  // Turns buffered bytes into calls until the buffer is used up or the
  // in-flight bound is reached; then reads more, or waits for replies.
  void ProcessBuffered();
  // Whether the in-flight bounds let one more call in.
  bool MayTakeAnotherCall() const;
  // Only from the read path (ProcessBuffered's loop, or a ReadFragment
  // that completed a record), and never re-entering ProcessBuffered.
  void Dispatch(std::shared_ptr<Call> call);
  // Runs the call on `pool`, then sends its reply from the I/O thread.
  void RunOn(boost::asio::thread_pool& pool, std::shared_ptr<Call> call);
  void Charge(Call& call);  // one call more in flight
  void Send(std::shared_ptr<Call> call);
  void WriteNext();
  void Finished(const Call& call);  // one call fewer in flight

  boost::asio::ip::tcp::socket socket_;
  const ClientInfo client_;
  Dispatcher& dispatcher_;
  const ThreadPools pools_;
  const ConnectionLimits limits_;
  ServerInFlight& server_in_flight_;
  std::function<void(Connection*)> on_close_;

  rpc::RecordAssembler assembler_;
  std::array<uint8_t, 64 << 10> buffer_{};
  size_t buffer_begin_ = 0;
  size_t buffer_end_ = 0;
  bool reading_ = false;
  bool closed_ = false;
  size_t in_flight_ = 0;

  std::deque<std::shared_ptr<Call>> outbox_;
  bool writing_ = false;
  // The write under way: record mark and body of the outbox's first
  // written_count_ replies.
  std::vector<boost::asio::const_buffer> gather_;
  size_t written_count_ = 0;
  std::vector<std::shared_ptr<Call>> written_;  // its completion's scratch, kept for reuse
};

}  // namespace server
