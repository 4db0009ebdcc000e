#include "exporters/stream/stream_sink.h"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include "base/bearer_token.h"
#include "exporters/sinks/flow_json.h"
#include "exporters/tls/maybe_tls.h"

namespace kscope::stream {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using unix_socket = asio::local::stream_protocol;
using Socket = asio::generic::stream_protocol::socket;
using boost::system::error_code;
using Line = std::shared_ptr<const std::string>;

namespace {

constexpr auto kRequestTimeout = std::chrono::seconds(10);
constexpr auto kLinger = std::chrono::seconds(2);  // also how long a stop waits for clients
constexpr size_t kBatchBytes = 64 * 1024;          // written to a client in one go at most

// The overflow record passes every filter: what it counts has no flow to match.
bool passes(const flows::FlowFilters& f, const flows::FlowRecord& r) {
  return r.overflow() || f.passes(r);
}

}  // namespace

class Client;

// What write() (the sink runner's thread) and the io thread share, guarded by mu.
struct Hub {
  struct Entry {
    flows::FlowRecord record;
    uint64_t wall_ns = 0;  // the record's time, for `since`
    Line line;
  };
  std::mutex mu;
  std::condition_variable clients_gone;  // stats.clients fell to 0
  std::deque<Entry> ring;
  std::vector<std::shared_ptr<Client>> following;
  StreamSink::Stats stats;
  std::string token;  // "": no token asked for
  std::shared_ptr<asio::ssl::context> tls;  // for TCP clients; null: plain
};

struct StreamSink::Server {
  explicit Server(StreamOptions o) : options(std::move(o)) {}
  ~Server();
  void stop();

  StreamOptions options;
  // Before io: clients destroyed with io's pending handlers still reach both.
  Hub hub;
  std::unordered_set<Client*> clients;  // io thread only: admitted, not yet destroyed
  bool stopping = false;                // io thread only
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  tcp::acceptor tcp_acceptor{io};
  unix_socket::acceptor unix_acceptor{io};
  tcp::endpoint tcp_local;  // kept: the acceptor forgets it once closed
  ino_t unix_inode = 0;     // ours to remove at the end only while it is still this inode
  std::thread thread;
};

using Server = StreamSink::Server;

// ---- One client --------------------------------------------------------------------------

// Lives while an operation on its socket is pending or write() may queue to it (following).
class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(Server& server, Socket socket, std::shared_ptr<asio::ssl::context> tls, bool admitted)
      : server_(server),
        stream_(std::move(socket), std::move(tls)),
        timer_(server.io),
        admitted_(admitted) {
    if (admitted_) server_.clients.insert(this);
  }
  ~Client() {
    if (!admitted_) return;
    server_.clients.erase(this);
    std::lock_guard lock(server_.hub.mu);
    if (--server_.hub.stats.clients == 0) server_.hub.clients_gone.notify_all();
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Reads the request, or with a refusal (the server is full) sends that. Over TLS the
  // handshake comes first, within the time a request has.
  void start(std::optional<Error> refusal) {
    if (!stream_.tls()) return serve(std::move(refusal));
    arm_timer(kRequestTimeout, Error{});
    stream_.async_handshake(
        [self = shared_from_this(), refusal = std::move(refusal)](error_code ec) mutable {
          if (!ec && !self->closed_) return self->serve(std::move(refusal));
          if (self->ending_) return self->close();  // the server stops: no client's fault
          // Plain TCP at a TLS port, an untrusted client certificate, a client that left or
          // timed out: this client's end, never the server's.
          {
            std::lock_guard lock(self->server_.hub.mu);
            ++self->server_.hub.stats.tls_handshake_failures;
          }
          self->close();
        });
  }

  // Turns the client away with one error line.
  void reject(const Error& e) {
    answered_ = true;
    timer_.cancel();
    out_ = error_line(e);
    stream_.visit([this](auto& s) {
      asio::async_write(s, asio::buffer(out_), [self = shared_from_this()](error_code ec, size_t) {
        if (ec) return self->close();
        self->linger();
      });
    });
  }

  // The server stops: what is queued still goes out, then the stream ends.
  void end() {
    ending_ = true;
    // A lingering client has had all: it need not hold the stop up until it closes.
    if (!subscribed_ || lingering_) return close();
    unsubscribe();
    pump();
  }

  // From write(), under hub.mu. Returns whether the io side waits and must be woken.
  bool offer(const Line& line) {
    if (queue_.size() >= server_.options.client_queue) {
      ++dropped_tail_;
      ++server_.hub.stats.dropped;
      return false;
    }
    queue_.push_back({line, std::exchange(dropped_tail_, 0)});
    return std::exchange(idle_, false);
  }

  const flows::FlowFilters& filters() const { return request_.filters; }

  void pump() {
    if (writing_ || closed_) return;
    out_.clear();
    // Popped as sent: the ring may let them go.
    for (; !backlog_.empty() && out_.size() < kBatchBytes; backlog_.pop_front())
      out_ += *backlog_.front();
    if (out_.size() < kBatchBytes && request_.follow) take_queued();
    if (out_.empty()) {
      if (!request_.follow || ending_) linger();
      return;
    }
    writing_ = true;
    stream_.visit([this](auto& s) {
      asio::async_write(s, asio::buffer(out_), [self = shared_from_this()](error_code ec, size_t) {
        self->writing_ = false;
        if (ec) return self->close();
        self->pump();
      });
    });
  }

 private:
  struct Queued {
    Line line;
    uint64_t lost_before = 0;  // this client's lines dropped just before this one
  };

  void serve(std::optional<Error> refusal) {
    if (refusal) return reject(*refusal);
    arm_timer(kRequestTimeout, Error{"request: none within 10 s", ""});
    reading_ = true;
    stream_.visit([this](auto& s) {
      asio::async_read_until(
          s, asio::dynamic_buffer(in_, kMaxRequestBytes), '\n',
          [self = shared_from_this()](error_code ec, size_t n) { self->on_request(ec, n); });
    });
  }

  void arm_timer(std::chrono::seconds after, Error why) {
    timer_.expires_after(after);
    timer_.async_wait([weak = weak_from_this(), why = std::move(why)](error_code ec) {
      if (ec) return;  // re-armed or cancelled
      if (auto self = weak.lock()) why.message.empty() ? self->close() : self->reject(why);
    });
  }

  void on_request(error_code ec, size_t n) {
    reading_ = false;
    if (closed_ || ending_ || answered_) return close();
    if (ec == asio::error::not_found) {  // the limit filled up before the newline
      count_bad();
      return reject(Error{fmt::format("request: longer than {} bytes", kMaxRequestBytes),
                          "a request is one line of JSON"});
    }
    if (ec) return close();
    std::string_view line(in_.data(), n - 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    auto req = parse_request(line);
    if (!req) {
      count_bad();
      return reject(req.error());
    }
    if (!authorized(req->token))
      return reject(Error{"request: this stream needs the collector's token",
                          "kscope observe --token-file FILE, FILE holding the token of the "
                          "collector's token_file"});
    answered_ = true;
    timer_.cancel();
    request_ = std::move(*req);
    subscribe();
    read_rest();
    pump();
  }

  // The backlog and, when following, the place among the followers: under one lock, so that
  // no record falls between the two or comes twice.
  void subscribe() {
    std::lock_guard lock(server_.hub.mu);
    uint64_t limit = request_.last.value_or(UINT64_MAX);
    const auto& ring = server_.hub.ring;
    for (auto it = ring.rbegin(); it != ring.rend() && backlog_.size() < limit; ++it)
      if (it->wall_ns >= request_.since_ns && passes(request_.filters, it->record))
        backlog_.push_front(it->line);
    subscribed_ = true;
    if (request_.follow) server_.hub.following.push_back(shared_from_this());
  }

  void unsubscribe() {
    // Declared before the lock: should it be the last reference, ~Client runs after unlocking.
    std::shared_ptr<Client> self = shared_from_this();
    std::lock_guard lock(server_.hub.mu);
    std::erase(server_.hub.following, self);
  }

  // Whether the request carries the token (when there is one); a refusal is counted.
  bool authorized(std::string_view given) {
    std::lock_guard lock(server_.hub.mu);
    if (server_.hub.token.empty() || token_matches(given, server_.hub.token)) return true;
    ++server_.hub.stats.unauthorized;
    return false;
  }

  void count_bad() {
    std::lock_guard lock(server_.hub.mu);
    ++server_.hub.stats.bad_requests;
  }

  // Moves queued lines into out_, each after the count of lines dropped before it.
  void take_queued() {
    std::lock_guard lock(server_.hub.mu);
    while (!queue_.empty() && out_.size() < kBatchBytes) {
      if (queue_.front().lost_before) out_ += lost_line(queue_.front().lost_before);
      out_ += *queue_.front().line;
      queue_.pop_front();
    }
    // Told at once, not only before the next record, which may be long in coming.
    if (queue_.empty() && dropped_tail_) out_ += lost_line(std::exchange(dropped_tail_, 0));
    if (out_.empty()) idle_ = true;
  }

  // Nothing more is read from a client after its request; the read tells when it leaves.
  void read_rest() {
    if (reading_) return;
    reading_ = true;
    discard_.resize(512);
    stream_.visit([this](auto& s) {
      s.async_read_some(asio::buffer(discard_), [self = shared_from_this()](error_code ec, size_t) {
        self->reading_ = false;
        if (ec) return self->close();
        self->read_rest();
      });
    });
  }

  // Closing with unread input makes the kernel send RST, which can destroy the last lines
  // before the client reads them. So: send FIN, read until the client closes, then close.
  // Over TLS too: its close_notify would have to wait for the read below to end first, and
  // kscope observe takes the connection's end for the stream's, as over plain TCP.
  void linger() {
    if (closed_ || lingering_) return;
    lingering_ = true;
    error_code ec;
    stream_.socket().shutdown(Socket::shutdown_send, ec);
    arm_timer(kLinger, Error{});
    read_rest();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    if (subscribed_ && request_.follow) unsubscribe();
    error_code ec;
    stream_.socket().shutdown(Socket::shutdown_both, ec);
    stream_.socket().close(ec);
    timer_.cancel();
  }

  Server& server_;
  tls::MaybeTls<Socket> stream_;
  asio::steady_timer timer_;
  const bool admitted_;  // counted in the server's clients
  StreamRequest request_;
  // Guarded by hub.mu:
  std::deque<Queued> queue_;
  uint64_t dropped_tail_ = 0;  // dropped since the last line queued
  bool idle_ = false;          // the io side waits for lines
  // The io thread's:
  std::deque<Line> backlog_;
  std::string in_, out_, discard_;
  bool answered_ = false;  // the request was read, or the client was turned away
  bool subscribed_ = false, writing_ = false, reading_ = false, ending_ = false;
  bool lingering_ = false, closed_ = false;
};

// ---- Listening ---------------------------------------------------------------------------

namespace {

// `tcp`: the client came by the TCP listener, the one TLS serves.
void admit(Server& s, Socket socket, bool tcp) {
  bool full = s.clients.size() >= s.options.max_clients;
  std::shared_ptr<asio::ssl::context> tls;
  {
    std::lock_guard lock(s.hub.mu);
    ++(full ? s.hub.stats.refused : s.hub.stats.clients);
    if (tcp) tls = s.hub.tls;
  }
  auto client = std::make_shared<Client>(s, std::move(socket), std::move(tls), !full);
  std::optional<Error> refusal;
  if (full)
    refusal = Error{fmt::format("{} clients are connected, the most this collector serves",
                                s.options.max_clients),
                    "try again when one has left"};
  client->start(std::move(refusal));
}

template <class Acceptor>
void accept_next(Server& s, Acceptor& acceptor) {
  acceptor.async_accept(
      [&s, &acceptor](error_code ec, typename Acceptor::protocol_type::socket socket) {
        if (s.stopping || ec == asio::error::operation_aborted) return;
        if (ec) {
          // Out of fds, say: retrying at once would spin, so wait a little.
          auto retry = std::make_shared<asio::steady_timer>(s.io, std::chrono::milliseconds(100));
          retry->async_wait([&s, &acceptor, retry](error_code) {
            if (!s.stopping) accept_next(s, acceptor);
          });
          return;
        }
        admit(s, Socket(std::move(socket)), std::is_same_v<Acceptor, tcp::acceptor>);
        accept_next(s, acceptor);
      });
}

std::string bind_hint(int err) {
  switch (err) {
    case EADDRINUSE:
      return "another process listens there (another kscope collect?); pick another address";
    case EACCES:
    case EPERM: return "ports below 1024 and sockets in root's directories need root";
    case EADDRNOTAVAIL: return "no interface of this host has that address; 127.0.0.1 works";
    case ENOENT: return "the unix socket's directory does not exist; create it first";
    default: return {};
  }
}

Result<void> listen_tcp(Server& s, const StreamAddress& a) {
  error_code ec, ignored;
  std::vector<tcp::endpoint> endpoints;
  auto address = asio::ip::make_address(a.host, ec);
  if (!ec) {
    endpoints.emplace_back(address, a.port);
  } else {
    tcp::resolver resolver(s.io);
    auto results = resolver.resolve(a.host, std::to_string(a.port), tcp::resolver::passive, ec);
    if (ec)
      return fail(fmt::format("stream listen {}: cannot resolve '{}': {}", address_text(a), a.host,
                              ec.message()),
                  "use an IP address, e.g. 127.0.0.1:9438");
    for (const auto& r : results) endpoints.push_back(r.endpoint());
  }
  for (const auto& ep : endpoints) {
    s.tcp_acceptor.open(ep.protocol(), ec);
    if (ec) continue;
    // A restart within TIME_WAIT of the previous run would otherwise fail with EADDRINUSE.
    s.tcp_acceptor.set_option(tcp::acceptor::reuse_address(true), ignored);
    s.tcp_acceptor.bind(ep, ec);
    if (!ec) s.tcp_acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) break;
    s.tcp_acceptor.close(ignored);
  }
  if (ec)
    return fail(fmt::format("stream listen {}: {}", address_text(a), ec.message()),
                bind_hint(ec.value()), ec.value());
  s.tcp_local = s.tcp_acceptor.local_endpoint(ignored);
  accept_next(s, s.tcp_acceptor);
  return {};
}

Result<void> listen_unix(Server& s, const std::string& path) {
  if (path.size() >= sizeof(sockaddr_un::sun_path))
    return fail(fmt::format("stream socket {}: longer than {} bytes", path,
                            sizeof(sockaddr_un::sun_path) - 1),
                "pick a shorter path");
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return fail(fmt::format("stream socket {}: a file that is not a socket is in the way", path),
                  "remove it or pick another path");
    // A socket nobody accepts on was left by a killed run; one that answers is in use.
    error_code ec;
    unix_socket::socket probe(s.io);
    probe.connect(unix_socket::endpoint(path), ec);
    if (!ec)
      return fail(fmt::format("stream socket {}: another process listens there", path),
                  "stop the other kscope collect, or pick another path");
    if (ec != asio::error::connection_refused)
      return fail(fmt::format("stream socket {}: {}", path, ec.message()), bind_hint(ec.value()),
                  ec.value());
    ::unlink(path.c_str());
  }
  error_code ec, ignored;
  s.unix_acceptor.open(unix_socket(), ec);
  if (!ec) s.unix_acceptor.bind(unix_socket::endpoint(path), ec);
  // Before listen(): until then a connect is refused, so the mode is set before anyone gets in.
  if (!ec && ::chmod(path.c_str(), s.options.unix_mode) != 0)
    ec = error_code(errno, boost::system::system_category());
  if (!ec) s.unix_acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    s.unix_acceptor.close(ignored);
    return fail(fmt::format("stream socket {}: {}", path, ec.message()), bind_hint(ec.value()),
                ec.value());
  }
  if (::stat(path.c_str(), &st) == 0) s.unix_inode = st.st_ino;
  accept_next(s, s.unix_acceptor);
  return {};
}

}  // namespace

// ---- The sink ----------------------------------------------------------------------------

void Server::stop() {
  if (!thread.joinable()) return;
  asio::post(io, [this] {
    stopping = true;
    error_code ec;
    tcp_acceptor.close(ec);
    unix_acceptor.close(ec);
    for (Client* c : std::vector<Client*>(clients.begin(), clients.end())) c->end();
  });
  {
    std::unique_lock lock(hub.mu);
    hub.clients_gone.wait_for(lock, kLinger, [&] { return hub.stats.clients == 0; });
  }
  work.reset();
  io.stop();
  thread.join();
  // Their sockets go before io does; outside the lock, which ~Client takes.
  std::vector<std::shared_ptr<Client>> following;
  std::lock_guard lock(hub.mu);
  following.swap(hub.following);
}

Server::~Server() {
  stop();
  struct stat st {};
  if (unix_inode && ::lstat(options.unix_path.c_str(), &st) == 0 && st.st_ino == unix_inode)
    ::unlink(options.unix_path.c_str());
}

Result<std::unique_ptr<StreamSink>> StreamSink::start(StreamOptions options) {
  if (options.listen.empty() && options.unix_path.empty())
    return fail("stream: neither a TCP address nor a unix socket to listen on",
                "give a listen address (127.0.0.1:9438) or a unix socket path");
  if (options.ring_records == 0 || options.client_queue == 0 || options.max_clients == 0)
    return fail("stream: the ring, the client queue and the client limit must be at least 1");
  auto server = std::make_unique<Server>(std::move(options));
  if (!server->options.listen.empty()) {
    auto a = parse_address(server->options.listen);
    if (!a) return std::unexpected(a.error());
    if (!a->unix_path.empty())
      return fail(fmt::format("stream listen '{}': expected HOST:PORT", server->options.listen),
                  "a unix socket goes in the unix socket path, not the TCP address");
    if (auto r = listen_tcp(*server, *a); !r) return std::unexpected(r.error());
  }
  if (!server->options.unix_path.empty())
    if (auto r = listen_unix(*server, server->options.unix_path); !r)
      return std::unexpected(r.error());
  Server& s = *server;
  s.thread = std::thread([&s] { s.io.run(); });
  return std::unique_ptr<StreamSink>(new StreamSink(std::move(server)));
}

StreamSink::StreamSink(std::unique_ptr<Server> server) : server_(std::move(server)) {}

StreamSink::~StreamSink() = default;

Result<void> StreamSink::write(std::span<const sinks::Item> batch) {
  Server& s = *server_;
  // Encoded before the lock: clients and the ring share one copy of each line.
  std::vector<Line> lines;
  lines.reserve(batch.size());
  for (const auto& item : batch) {
    fmt::memory_buffer out;
    sinks::append_item_json(out, item, s.options.context, s.options.name, s.options.fields);
    lines.push_back(std::make_shared<const std::string>(out.data(), out.size()));
  }
  std::vector<std::shared_ptr<Client>> wake;
  {
    std::lock_guard lock(s.hub.mu);
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto* r = std::get_if<flows::FlowRecord>(&batch[i]);
      const auto* e = std::get_if<sinks::EventItem>(&batch[i]);
      if (r) {
        s.hub.ring.push_back(
            {*r, s.options.context.wall_ns(r->last_ns ? r->last_ns : r->first_ns), lines[i]});
        if (s.hub.ring.size() > s.options.ring_records) s.hub.ring.pop_front();
      }
      // Loss reports go to every client: they describe the whole stream. Events go live only
      // (the ring replays flows), to clients whose filters a process can pass.
      for (const auto& c : s.hub.following) {
        bool pass = r ? passes(c->filters(), *r) : e ? c->filters().passes_event(e->pid, e->comm, e->reason) : true;
        if (pass && c->offer(lines[i])) wake.push_back(c);
      }
    }
  }
  for (auto& c : wake) asio::post(s.io, [c = std::move(c)] { c->pump(); });
  return {};
}

uint16_t StreamSink::port() const { return server_->tcp_local.port(); }

std::string StreamSink::address() const {
  const tcp::endpoint& ep = server_->tcp_local;
  if (ep.port() == 0) return server_->options.unix_path;
  if (ep.address().is_v6()) return fmt::format("[{}]:{}", ep.address().to_string(), ep.port());
  return fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

void StreamSink::take_losses(sinks::LossReport& report) {
  uint64_t dropped = stats().dropped;
  report.lost.emplace_back("stream.client_queue", dropped - reported_dropped_);
  reported_dropped_ = dropped;
}

void StreamSink::set_tls(std::shared_ptr<asio::ssl::context> context) {
  std::lock_guard lock(server_->hub.mu);
  server_->hub.tls = std::move(context);
}

void StreamSink::set_token(std::string token) {
  std::lock_guard lock(server_->hub.mu);
  server_->hub.token = std::move(token);
}

StreamSink::Stats StreamSink::stats() const {
  std::lock_guard lock(server_->hub.mu);
  Stats st = server_->hub.stats;
  st.following = server_->hub.following.size();
  return st;
}

}  // namespace kscope::stream
