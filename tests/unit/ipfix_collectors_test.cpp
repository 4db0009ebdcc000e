// IpfixSink against the collectors operators run, from Debian's packages: nfdump's nfcapd
// (read back with nfdump) and pmacct's nfacctd (its print plugin, with kscope's enterprise
// elements defined by tests/fixtures/ipfix/kscope_primitives.lst). Both take IPFIX over UDP
// only, so TCP is tested against a plain listener (ipfix_encoder_test.cpp). No root: loopback,
// ports the kernel hands out, children killed on every path.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "exporters/ipfix/ipfix_sink.h"
#include "flows/flow_record.h"

namespace kscope::ipfix {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A collector process: SIGKILLed and reaped when the test leaves, however it leaves.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const fs::path& log) {
    pid_ = fork();
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Sends `sig` and waits up to `timeout` for the exit; true when it exited in time.
  bool stop(int sig, std::chrono::milliseconds timeout) {
    kill(pid_, sig);
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return true;
      }
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  bool running() { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  pid_t pid_ = -1;
};

struct TempDir {
  fs::path path;
  TempDir() {
    char templ[] = "/tmp/kscope-ipfix-XXXXXX";
    path = mkdtemp(templ);
  }
  ~TempDir() { fs::remove_all(path); }
};

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A UDP port free on 127.0.0.1 a moment ago: the collectors take a port number, not a socket.
uint16_t free_udp_port() {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// Whether some socket is bound to UDP `port` (/proc/net/udp, so without racing for it).
bool udp_bound(uint16_t port) {
  std::string needle = fmt::format(":{:04X} ", port);
  for (const char* table : {"/proc/net/udp", "/proc/net/udp6"}) {
    std::istringstream lines(read_file(table));
    for (std::string line; std::getline(lines, line);) {
      std::istringstream cols(line);
      std::string slot, local;
      cols >> slot >> local;
      if ((local + " ").find(needle) != std::string::npos) return true;
    }
  }
  return false;
}

std::string run(const std::string& command) {
  std::string out;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) out.append(buf, n);
  pclose(p);
  return out;
}

bool installed(const std::string& binary) {
  for (const char* dir : {"/usr/bin/", "/usr/sbin/", "/usr/local/bin/", "/usr/local/sbin/"})
    if (access((std::string(dir) + binary).c_str(), X_OK) == 0) return true;
  return false;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

// --- what is sent -------------------------------------------------------------------------

constexpr int64_t kBootToWall = 1'700'000'000'000'000'000;

struct Known {
  std::string src, dst;
  uint16_t sport, dport;
  uint8_t proto;
  uint64_t packets, bytes;
};

const Known kKnown[] = {
    {"10.1.1.1", "10.2.2.2", 40001, 443, 6, 11, 2200},
    {"10.1.1.1", "10.3.3.3", 40002, 53, 17, 1, 73},
    {"10.1.1.1", "10.4.4.4", 0, 8 << 8 | 0, 1, 3, 252},  // ICMP echo request
    {"2001:db8::1", "2001:db8::2", 50001, 8080, 6, 21, 30000},
    {"2001:db8::1", "2001:db8::3", 50002, 5353, 17, 2, 300},
    {"2001:db8::1", "2001:db8::4", 0, 128 << 8 | 0, 58, 4, 416},  // ICMPv6 echo request
};

flows::FlowRecord to_record(const Known& k, bool with_process) {
  flows::FlowRecord r;
  r.key = flows::flow_key(parse_ip(k.src), k.sport, parse_ip(k.dst), k.dport, k.proto,
                          KS_FLOW_EGRESS, KS_FLOW_POINT_CGROUP, 2);
  r.packets = k.packets;
  r.bytes = k.bytes;
  r.first_ns = 3'000'000'000;
  r.last_ns = 4'500'000'000;
  r.end = flows::EndReason::idle_timeout;
  if (with_process) {
    r.owner_flags = KS_FLOW_OWNER_KNOWN | KS_FLOW_SOCKET | (k.proto == 6 ? KS_FLOW_TCP_SOCK : 0);
    r.owner.tgid = 3000 + k.sport % 1000;
    r.owner.pid = r.owner.tgid + 1;
    r.owner.uid = 1000;
    r.owner.cgroup_id = 987654321;
    std::snprintf(r.owner.comm, sizeof(r.owner.comm), "proc%u", k.sport % 1000);
    r.container_id = fmt::format("c0ffee{:02d}", k.sport % 100);
    r.srtt_us = 250;
    r.retransmits = 2;
  }
  return r;
}

Result<void> send_known(uint16_t port, bool with_process) {
  auto sink = IpfixSink::open(
      {.host = "127.0.0.1", .port = port, .context = {.node_name = "n", .boot_to_wall_ns = kBootToWall}});
  if (!sink) return std::unexpected(sink.error());
  std::vector<sinks::Item> batch;
  for (const Known& k : kKnown) batch.push_back(to_record(k, with_process));
  sinks::LossReport loss{.window_start_ns = 1'700'000'000'000'000'000,
                         .window_end_ns = 1'700'000'010'000'000'000,
                         .records = 6,
                         .lost = {{"sink.queue", 1}}};
  batch.emplace_back(std::in_place_type<sinks::LossReport>, std::move(loss));
  return (*sink)->write(batch);
}

// --- nfcapd / nfdump ----------------------------------------------------------------------

TEST(IpfixCollectors, NfcapdStoresWhatNfdumpReadsBack) {
  if (!installed("nfcapd") || !installed("nfdump"))
    GTEST_SKIP() << "nfcapd/nfdump are not installed (Debian package nfdump)";
  TempDir dir;
  uint16_t port = free_udp_port();
  fs::path log = dir.path / "nfcapd.log";
  fs::create_directory(dir.path / "flows");
  Child nfcapd({"nfcapd", "-b", "127.0.0.1", "-p", std::to_string(port), "-w",
                (dir.path / "flows").string()},
               log);
  ASSERT_TRUE(wait_until([&] { return udp_bound(port); }, 5s))
      << "nfcapd did not bind 127.0.0.1:" << port << ":\n" << read_file(log);

  auto sent = send_known(port, true);
  ASSERT_TRUE(sent.has_value()) << sent.error().message;
  std::this_thread::sleep_for(300ms);  // let it read the datagrams before it is told to stop
  // SIGTERM: nfcapd writes its file out and names it nfcapd.YYYYMMDDhhmm.
  ASSERT_TRUE(nfcapd.stop(SIGTERM, 5s)) << "nfcapd did not stop:\n" << read_file(log);

  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir.path / "flows"))
    if (e.path().filename().string().starts_with("nfcapd.2")) files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u) << read_file(log);
  std::string out = run(fmt::format(
      "TZ=UTC nfdump -q -N -r {} -o 'fmt:%sa|%sp|%da|%dp|%pr|%pkt|%byt|%ts|%te|%out'",
      files[0].string()));
  std::vector<std::string> got;
  for (auto line : lines_of(out)) {
    std::erase(line, ' ');
    got.push_back(line);
  }
  std::vector<std::string> want;
  for (const Known& k : kKnown) {
    bool icmp = k.proto == 1 || k.proto == 58;
    // nfdump shows ICMP's type.code where the destination port goes.
    std::string dport = icmp ? fmt::format("{}.{}", k.dport >> 8, k.dport & 0xff)
                             : std::to_string(k.dport);
    // Boot 3 s and 4.5 s; egress on interface 2.
    want.push_back(fmt::format("{}|{}|{}|{}|{}|{}|{}|2023-11-1422:13:23.000|2023-11-1422:13:24.500|2",
                               k.src, k.sport, k.dst, dport, k.proto, k.packets, k.bytes));
  }
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want) << "nfdump printed:\n" << out << "\nnfcapd log:\n" << read_file(log);
  EXPECT_NE(read_file(log).find("Sequence Errors: 0"), std::string::npos) << read_file(log);
}

// --- nfacctd ------------------------------------------------------------------------------

// The primitives file the docs point at, next to this test's sources.
fs::path primitives_file() {
  return fs::path(__FILE__).parent_path().parent_path() / "fixtures/ipfix/kscope_primitives.lst";
}

TEST(IpfixCollectors, NfacctdReadsTheProcessElements) {
  if (!installed("nfacctd")) GTEST_SKIP() << "nfacctd is not installed (Debian package pmacct)";
  ASSERT_TRUE(fs::exists(primitives_file())) << primitives_file();
  TempDir dir;
  uint16_t port = free_udp_port();
  fs::path out = dir.path / "flows.csv", log = dir.path / "nfacctd.log";
  fs::path config = dir.path / "nfacctd.conf";
  std::ofstream(config) << fmt::format(
      "daemonize: false\n"
      "nfacctd_ip: 127.0.0.1\n"
      "nfacctd_port: {}\n"
      "aggregate_primitives: {}\n"
      "plugins: print\n"
      "aggregate: src_host, dst_host, src_port, dst_port, proto, kscope_pid, kscope_tid, "
      "kscope_uid, kscope_cgroup_id, kscope_comm, kscope_container_id, kscope_srtt_us, "
      "kscope_retransmits\n"
      "print_output: csv\n"
      "print_num_protos: true\n"
      "print_output_file: {}\n"
      "print_refresh_time: 1\n",
      port, primitives_file().string(), out.string());
  Child nfacctd({"nfacctd", "-f", config.string()}, log);
  ASSERT_TRUE(wait_until([&] { return udp_bound(port); }, 5s))
      << "nfacctd did not bind 127.0.0.1:" << port << ":\n" << read_file(log);
  // Records reaching the core before the print plugin has set up are lost (pmacct 1.7.7):
  // its first purge says it is running.
  ASSERT_TRUE(wait_until([&] { return read_file(log).find("Purging cache - END") != std::string::npos; }, 5s))
      << "nfacctd's print plugin did not start:\n" << read_file(log);

  auto sent = send_known(port, true);
  ASSERT_TRUE(sent.has_value()) << sent.error().message;
  // The print plugin writes its cache out every print_refresh_time.
  bool complete = wait_until([&] { return lines_of(read_file(out)).size() > std::size(kKnown); }, 8s);
  ASSERT_TRUE(complete) << "nfacctd wrote:\n" << read_file(out) << "\nlog:\n" << read_file(log);
  EXPECT_TRUE(nfacctd.running()) << read_file(log);

  std::vector<std::string> got = lines_of(read_file(out)), want;
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0],
            "SRC_IP,DST_IP,SRC_PORT,DST_PORT,PROTOCOL,kscope_pid,kscope_tid,kscope_uid,"
            "kscope_cgroup_id,kscope_comm,kscope_container_id,kscope_srtt_us,kscope_retransmits,"
            "PACKETS,BYTES");
  got.erase(got.begin());
  for (const Known& k : kKnown) {
    flows::FlowRecord r = to_record(k, true);
    bool tcp = k.proto == 6;
    // pmacct reads ICMP's type << 8 | code from the destination port (it skips element 32/139).
    want.push_back(fmt::format("{},{},{},{},{},{},{},1000,987654321,{},{},{},{},{},{}", k.src,
                               k.dst, k.sport, k.dport, k.proto, r.owner.tgid, r.owner.pid,
                               r.owner.comm, r.container_id, tcp ? 250 : 0, tcp ? 2 : 0,
                               k.packets, k.bytes));
  }
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want) << "log:\n" << read_file(log);
}

}  // namespace
}  // namespace kscope::ipfix
