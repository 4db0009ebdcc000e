// `kscope observe`: the collector's live flow stream, as `hubble observe` shows Hubble's: the
// last records, those since a time, and with --follow each new one as it comes, filtered in
// the collector so that only what is asked for crosses the socket (docs/observe.md).
#include <time.h>
#include <unistd.h>

#include <csignal>
#include <memory>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "base/bearer_token.h"
#include "commands.h"
#include "exporters/stream/observe_client.h"
#include "exporters/tls/tls_context.h"
#include "render/output.h"

namespace kscope::cli {
namespace {

struct ObserveFlags {
  std::string server{stream::kDefaultAddress};
  std::string token_file;
  bool tls = false;
  tls::ClientFiles tls_files;
  stream::ObserveOptions options;
  std::string output = "compact";
  bool negate_next = false;  // --not was the last filter flag given
};

const stream::StreamConnection* signalled_connection = nullptr;
volatile std::sig_atomic_t interrupted = 0;

// While alive, SIGINT and SIGTERM end the command cleanly: the handler shuts the socket down,
// so read_line() sees the end of the stream whether it waits now or is called later.
class StopOnSignal {
 public:
  explicit StopOnSignal(const stream::StreamConnection& c) {
    signalled_connection = &c;
    struct sigaction sa {};
    sa.sa_handler = [](int) {
      interrupted = 1;
      if (signalled_connection) signalled_connection->shut_down();
    };
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
  }
  ~StopOnSignal() {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    signalled_connection = nullptr;
  }
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;
};

uint64_t wall_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

stream::OutputFormat output_format(const std::string& name) {
  if (name == "json") return stream::OutputFormat::json;
  if (name == "table") return stream::OutputFormat::table;
  return stream::OutputFormat::compact;
}

// The TLS context the flags ask for; null without TLS. Any --tls-* flag means TLS.
Result<std::shared_ptr<tls::Context>> client_tls(const ObserveFlags& f,
                                                 const stream::StreamAddress& server) {
  const tls::ClientFiles& files = f.tls_files;
  if (!f.tls && files.ca_file.empty() && files.cert_file.empty() && files.key_file.empty())
    return nullptr;
  if (!server.unix_path.empty())
    return fail("--tls: the stream's unix socket is plain; TLS is for its TCP listener",
                "drop the --tls flags, or point --server at the stream sink's HOST:PORT");
  if (!files.key_file.empty() && files.cert_file.empty())
    return fail("--tls-key needs --tls-cert, the certificate the key belongs to",
                "--tls-cert FILE --tls-key FILE: the client certificate for mutual TLS");
  if (!files.cert_file.empty() && files.key_file.empty())
    return fail("--tls-cert needs --tls-key, the certificate's private key",
                "--tls-cert FILE --tls-key FILE: the client certificate for mutual TLS");
  return tls::client_context(files);
}

int run_observe(const ObserveFlags& f) {
  if (f.negate_next)
    return report(Error{"--not negates the filter flag after it, and none came",
                        "e.g. kscope observe --not --port 22"});
  auto address = stream::parse_address(f.server);
  if (!address) return report(Error{"--server: " + address.error().message, address.error().hint});
  auto tls_context = client_tls(f, *address);
  if (!tls_context) return report(tls_context.error());
  auto request = stream::build_request(f.options, wall_now_ns());
  if (!request) return report(request.error());
  if (!f.token_file.empty()) {
    auto token = read_token_file(f.token_file);
    if (!token) return report(Error{"--token-file: " + token.error().message, token.error().hint});
    request->token = std::move(*token);
  }
  auto conn = stream::StreamConnection::open(*address, tls_context->get());
  if (!conn) return report(conn.error());
  if (auto sent = conn->send(stream::request_line(*request)); !sent) return report(sent.error());

  StopOnSignal stop_on_signal(*conn);
  Output out(STDOUT_FILENO);
  stream::LineFormatter formatter(output_format(f.output));
  for (;;) {
    // Flushed before waiting: a followed flow shows when it comes, not when the buffer fills.
    if (!conn->line_buffered()) out.flush();
    auto line = conn->read_line();
    if (!line) return report(line.error());
    if (!*line) break;
    auto shown = formatter.format(**line);
    if (!shown) {
      out.flush();
      return report(shown.error());
    }
    out.buffer().append(shown->out);
    if (!shown->err.empty()) {
      out.flush();  // in order with the records around it
      fmt::print(stderr, "{}", shown->err);
    }
    out.maybe_flush();
    if (out.closed()) break;
  }
  out.flush();
  if (request->follow && !interrupted && !out.closed())
    return report(Error{fmt::format("the collector at {} ended the stream", f.server),
                        "it stopped or restarted; run kscope observe again"});
  return 0;
}

}  // namespace

void add_observe(CLI::App& app, Command& run) {
  auto f = std::make_shared<ObserveFlags>();
  auto* cmd = app.add_subcommand(
      "observe", "Flow records from the collector's live stream, filtered in the collector");
  cmd->add_option("--server", f->server,
                  fmt::format("The collector's stream: HOST:PORT or a unix socket path (default "
                              "{})",
                              stream::kDefaultAddress));
  cmd->add_option("--token-file", f->token_file,
                  "A file (mode 0600) holding the collector's bearer token, when its config has a "
                  "token_file");
  cmd->add_flag("--tls", f->tls,
                "Speak TLS to the stream (its sink has tls:), verifying its certificate against "
                "the system's CAs and the --server host");
  cmd->add_option("--tls-ca", f->tls_files.ca_file,
                  "Verify the stream's certificate against this CA (PEM) instead; implies --tls");
  cmd->add_option("--tls-cert", f->tls_files.cert_file,
                  "A client certificate (PEM) for a stream that asks for one (client_ca_file)");
  cmd->add_option("--tls-key", f->tls_files.key_file,
                  "The client certificate's private key (PEM, mode 0600)");
  cmd->add_flag("-f,--follow", f->options.follow,
                "After the last records, show new ones as they come");
  cmd->add_option("--last", f->options.last,
                  "Show at most the last N records kept (default 20; with --follow alone, none)")
      ->check(CLI::Validator(
          [](std::string& v) { return v.starts_with('-') ? "a count, 0 or more" : std::string(); },
          ""));
  cmd->add_option("--since", f->options.since,
                  "Show the records kept since this time: RFC 3339 or a duration back from now "
                  "(5m, 1h30m)");
  cmd->add_option("-o,--output", f->output,
                  "compact: one line a flow; json: the NDJSON records as sent; table: columns")
      ->check(CLI::IsMember({"compact", "json", "table"}));
  // Each filter flag is taken as it is parsed, so that --not applies to the one after it.
  cmd->add_flag_callback(
         "--not", [f] { f->negate_next = true; },
         "Negate the next filter flag: --not --port 22 hides flows of port 22")
      ->trigger_on_parse();
  static constexpr std::pair<const char*, const char*> kFilters[] = {
      {"ip", "Flows from or to this address or CIDR"},
      {"from-ip", "Flows from this address or CIDR"},
      {"to-ip", "Flows to this address or CIDR"},
      {"port", "Flows from or to this TCP/UDP port"},
      {"protocol", "Flows of this protocol: tcp, udp, icmp, icmpv6 or a number"},
      {"pid", "Flows whose socket this process owns"},
      {"comm", "Flows whose socket a process of this command name owns (and its events)"},
      {"drop-reason", "Drop events (a stream with events: [drops]) of this kernel reason, e.g. NO_SOCKET"},
  };
  for (const auto& [name, help] : kFilters) {
    cmd->add_option_function<std::string>(
           fmt::format("--{}", name),
           [f, flag = std::string(name)](const std::string& value) {
             f->options.filters.push_back({flag, value, std::exchange(f->negate_next, false)});
           },
           help)
        ->trigger_on_parse();
  }
  cmd->footer(
      "Filters: the filter flags form one filter (every kind given must match; any of a kind's "
      "values), the flags after --not another, which hides what it matches.\nExamples:\n"
      "  kscope observe --last 100\n  kscope observe -f --protocol tcp --port 443\n"
      "  kscope observe -f --from-ip 10.0.0.0/8 --not --port 22 -o table\n"
      "  kscope observe --since 5m --comm nginx -o json");
  cmd->callback([&run, f] { run = [f] { return run_observe(*f); }; });
}

}  // namespace kscope::cli
