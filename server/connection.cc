#include "server/connection.h"

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <limits>

#include "vaultcore/log.h"

namespace server {

using vaultcore::Log;
using vaultcore::LogLevel;

namespace {

// asio's transfer_all offers the kernel at most 64 KiB per read or write,
// so a 1 MiB READ reply took 17 sendmsg calls, each a round through the
// event loop. Offer all that is left: the kernel takes what the socket can.
size_t EverythingLeft(const boost::system::error_code& error, size_t /*written*/) {
  return error ? 0 : std::numeric_limits<size_t>::max();
}

}  // namespace

Connection::Connection(boost::asio::ip::tcp::socket socket, ClientInfo client,
                       Dispatcher& dispatcher, ThreadPools pools, ConnectionLimits limits,
                       ServerInFlight& server_in_flight, std::function<void(Connection*)> on_close)
    : socket_(std::move(socket)),
      client_(std::move(client)),
      dispatcher_(dispatcher),
      pools_(pools),
      limits_(limits),
      server_in_flight_(server_in_flight),
      on_close_(std::move(on_close)),
      assembler_(limits.max_record_size) {}

Connection::~Connection() {
  // No pool thread or pending write holds us: what is still counted is
  // the replies queued and never written.
  for (const auto& call : outbox_) server_in_flight_.bytes -= call->charged_bytes;
  // Their replies' blocks go back to the pool, which keeps idle no more
  // than the calls of the other connections hold.
  outbox_.clear();
  server_in_flight_.blocks.TrimTo(server_in_flight_.bytes);
}

void Connection::Start() {
  boost::system::error_code ignored;
  socket_.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
  ReadMore();
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  if (on_close_) on_close_(this);
}

void Connection::ReadMore() {
  if (closed_ || reading_) return;
  if (assembler_.fragment_left() > buffer_.size()) {
    ReadFragment();
    return;
  }
  reading_ = true;
  socket_.async_read_some(
      boost::asio::buffer(buffer_),
      [self = shared_from_this()](const boost::system::error_code& error, size_t n) {
        self->reading_ = false;
        if (error) {
          self->ReadFailed(error);
          return;
        }
        self->buffer_begin_ = 0;
        self->buffer_end_ = n;
        self->ProcessBuffered();
      });
}

void Connection::ReadFragment() {
  reading_ = true;
  const std::span<uint8_t> room = assembler_.FragmentRoom();
  boost::asio::async_read(
      socket_, boost::asio::buffer(room.data(), room.size()), EverythingLeft,
      [self = shared_from_this()](const boost::system::error_code& error, size_t n) {
        self->reading_ = false;
        const auto state = self->assembler_.Received(n);
        if (error) {
          self->ReadFailed(error);
          return;
        }
        // The read buffer is empty: it was used up before this read began.
        if (state == rpc::RecordAssembler::State::kRecordReady) {
          self->Dispatch(std::make_shared<Call>(self->assembler_.TakeRecord(),
                                                &self->server_in_flight_.blocks));
        }
        self->ProcessBuffered();
      });
}

void Connection::ReadFailed(const boost::system::error_code& error) {
  if (error != boost::asio::error::eof && error != boost::asio::error::operation_aborted &&
      error != boost::asio::error::connection_reset) {
    Log(LogLevel::kWarning, "client " + client_.address + ": " + error.message());
  }
  Log(LogLevel::kDebug,
      "client " + client_.address + ":" + std::to_string(client_.port) + " disconnected");
  Close();
}

void Connection::ProcessBuffered() {
  while (!closed_ && MayTakeAnotherCall() && buffer_begin_ < buffer_end_) {
    size_t consumed = 0;
    const auto state = assembler_.Feed(
        std::span<const uint8_t>(buffer_).subspan(buffer_begin_, buffer_end_ - buffer_begin_),
        &consumed);
    buffer_begin_ += consumed;
    if (state == rpc::RecordAssembler::State::kTooLarge) {
      Log(LogLevel::kWarning, "client " + client_.address + ":" + std::to_string(client_.port) +
                                  " sent a record over " + std::to_string(limits_.max_record_size) +
                                  " bytes; closing the connection");
      Close();
      return;
    }
    if (state == rpc::RecordAssembler::State::kRecordReady) {
      Dispatch(std::make_shared<Call>(assembler_.TakeRecord(), &server_in_flight_.blocks));
    }
  }
  if (buffer_begin_ == buffer_end_) ReadMore();
}

bool Connection::MayTakeAnotherCall() const {
  if (in_flight_ == 0) return true;
  return in_flight_ < limits_.max_calls_in_flight &&
         server_in_flight_.bytes < limits_.max_bytes_in_flight;
}

void Connection::Dispatch(std::shared_ptr<Call> call) {
  switch (dispatcher_.Prepare(*call, client_)) {
    case Dispatcher::Next::kDrop:
      // Never in flight, so no Finished(): that would re-enter
      // ProcessBuffered, which called us, once per dropped record — a
      // buffer full of them overflowed the stack.
      return;
    case Dispatcher::Next::kReply:
      Charge(*call);
      Send(std::move(call));
      return;
    case Dispatcher::Next::kRunOnWorker:
      RunOn(pools_.workers, std::move(call));
      return;
    case Dispatcher::Next::kRunOnDiskWait:
      RunOn(pools_.disk_waits, std::move(call));
      return;
  }
}

void Connection::RunOn(boost::asio::thread_pool& pool, std::shared_ptr<Call> call) {
  Charge(*call);
  pools_.sharing.CallPosted();
  boost::asio::post(pool, [self = shared_from_this(), call = std::move(call)]() mutable {
    const vaultcore::WorkSharing::Scope sharing(&self->pools_.sharing);
    self->dispatcher_.Execute(*call);
    // What the procedure left for after its reply may read the call's
    // record (a WRITE's data), which the reply no longer needs.
    const std::function<void()> after_reply = std::move(call->after_reply);
    const rpc::RecordBytes record = after_reply ? std::move(call->record) : rpc::RecordBytes();
    self->pools_.sharing.CallFinished();
    auto executor = self->socket_.get_executor();
    boost::asio::post(executor,
                      [self, call = std::move(call)]() mutable { self->Send(std::move(call)); });
    if (after_reply) after_reply();
  });
}

void Connection::Charge(Call& call) {
  ++in_flight_;
  // A READ's reply is counted before it exists: 32 calls for 1 MiB each,
  // read at once, would otherwise all be answered before the bound saw one.
  call.charged_bytes = call.record.size() + call.reply_bound;
  server_in_flight_.bytes += call.charged_bytes;
}

void Connection::Send(std::shared_ptr<Call> call) {
  // The reply's memory counts from now (beyond what was counted for it
  // already), until it is written.
  if (call->reply.size() > call->reply_bound) {
    const size_t more = call->reply.size() - call->reply_bound;
    call->charged_bytes += more;
    server_in_flight_.bytes += more;
  }
  if (closed_) {
    Finished(*call);
    return;
  }
  rpc::EncodeRecordMark(static_cast<uint32_t>(call->reply.size()), call->record_mark.data());
  outbox_.push_back(std::move(call));
  WriteNext();
}

void Connection::WriteNext() {
  if (writing_ || outbox_.empty() || closed_) return;
  writing_ = true;
  // Small replies that queued up while the last write was under way go
  // out together in one gather write: one sendmsg, and one wake-up of the
  // client, for several of them. Measured against one reply per write
  // (bench/RESULTS.md, step 24): up to 4 gave ide +9 % / +15 % and lookup
  // at 32 in flight +21 %, with getattr within the noise; up to 32 cost
  // getattr 6–12 %. A large reply (a READ's) goes alone, as before, so
  // that each is finished, and its memory given back, as soon as it is out.
  constexpr size_t kMaxRepliesPerWrite = 4;
  constexpr size_t kMaxBytesPerWrite = 64 << 10;
  gather_.clear();
  written_count_ = 0;
  size_t bytes = 0;
  while (written_count_ < std::min(outbox_.size(), kMaxRepliesPerWrite)) {
    const Call& call = *outbox_[written_count_];
    const size_t size = call.record_mark.size() + call.reply.size();
    if (written_count_ > 0 && bytes + size > kMaxBytesPerWrite) break;
    gather_.push_back(boost::asio::buffer(call.record_mark));
    gather_.push_back(boost::asio::buffer(call.reply.data(), call.reply.size()));
    bytes += size;
    ++written_count_;
  }
  boost::asio::async_write(
      socket_, gather_, EverythingLeft,
      [self = shared_from_this()](const boost::system::error_code& error, size_t /*n*/) {
        self->writing_ = false;
        // Off the queue first: Finished may dispatch and send more.
        const size_t count = std::min(self->written_count_, self->outbox_.size());
        for (size_t i = 0; i < count; ++i) {
          self->written_.push_back(std::move(self->outbox_.front()));
          self->outbox_.pop_front();
        }
        for (const auto& sent : self->written_) self->Finished(*sent);
        self->written_.clear();
        // With the replies' memory back in the pool, keep no more of it idle
        // than the calls still in flight hold: an idle server holds none.
        self->server_in_flight_.blocks.TrimTo(self->server_in_flight_.bytes);
        if (error) {
          self->Close();
          return;
        }
        self->WriteNext();
      });
}

void Connection::Finished(const Call& call) {
  --in_flight_;
  server_in_flight_.bytes -= call.charged_bytes;
  // Reading stopped at the bound; the buffer may still hold calls.
  if (!closed_ && !reading_) ProcessBuffered();
}

}  // namespace server
