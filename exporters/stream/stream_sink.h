// The live flow stream (`kscope observe`'s server, docs/observe.md): a sink that keeps the last
// records in a ring and streams each new one to every client whose filters pass it. Clients
// connect over TCP or a unix socket and are served on the sink's own io_context and thread;
// each has a bounded queue, so a slow client loses its own records (and is told how many, in
// band) but never slows write() or another client.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/result.h"
#include "exporters/sinks/flow_json.h"
#include "exporters/sinks/sink.h"
#include "exporters/stream/stream_protocol.h"

namespace boost::asio::ssl {
class context;
}

namespace kscope::stream {

struct StreamOptions {
  std::string name = "stream";          // the sink's name, in its loss reports
  sinks::FieldMask fields;              // the record fields its lines keep (default: all)
  std::string listen{kDefaultAddress};  // TCP "HOST:PORT" (port 0: the kernel picks); "": none
  std::string unix_path;                // a unix socket; "": none. A stale one is replaced
  mode_t unix_mode = 0660;
  size_t ring_records = 10'000;  // kept for `last` and `since`
  size_t client_queue = 10'000;  // lines waiting for one client; past it, its own are dropped
  size_t max_clients = 64;       // more are told so and closed
  sinks::Context context;        // for the records' node name and wall-clock times
};

class StreamSink final : public sinks::Sink {
 public:
  // Binds, then serves on a thread of its own until destroyed.
  static Result<std::unique_ptr<StreamSink>> start(StreamOptions options);
  // Writes out what the clients have queued (for at most 2 s), closes them, and removes the
  // unix socket.
  ~StreamSink() override;
  StreamSink(const StreamSink&) = delete;
  StreamSink& operator=(const StreamSink&) = delete;

  // Encodes each item once; never waits for a client.
  Result<void> write(std::span<const sinks::Item> batch) override;
  // stream.client_queue: lines slow clients missed since the last call (each client is told
  // its own in band).
  void take_losses(sinks::LossReport& report) override;

  uint16_t port() const;        // the TCP port bound; 0 with no TCP listener
  std::string address() const;  // "127.0.0.1:9438", else the unix socket's path

  // From now on a request must carry this token ("": none needed, the default); clients
  // already served stay.
  void set_token(std::string token);
  // From now on clients of the TCP listener speak TLS with this context
  // (exporters/tls/tls_context.h); null: plain (the default). A unix socket stays plain;
  // clients already connected keep what they started with.
  void set_tls(std::shared_ptr<boost::asio::ssl::context> context);

  struct Stats {
    size_t clients = 0;         // connected, the ones still sending their request included
    size_t following = 0;       // receiving new records
    uint64_t refused = 0;       // turned away: max_clients were connected
    uint64_t bad_requests = 0;  // answered with an error line
    uint64_t dropped = 0;       // lines dropped at full client queues, every client's
    uint64_t unauthorized = 0;  // turned away: no or a wrong token
    uint64_t tls_handshake_failures = 0;  // TLS clients closed before their handshake ended
  };
  Stats stats() const;

  struct Server;  // the io_context, its thread, the listeners and the clients

 private:
  explicit StreamSink(std::unique_ptr<Server> server);
  std::unique_ptr<Server> server_;
  uint64_t reported_dropped_ = 0;  // stats().dropped at the last take_losses()
};

}  // namespace kscope::stream
