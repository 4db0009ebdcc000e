// Writes the fuzz targets' seed corpora, built from valid records (tests/unit/records.h), so
// that the seeds follow the probes' ABI as it changes: DIR/decode holds one record per file,
// DIR/replay one --record file per tool in the registry. Usage: make_seeds DIR
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "dns.h"
#include "drops.h"
#include "records.h"
#include "registry/registry.h"
#include "render/time_format.h"
#include "sources/record_file.h"

using namespace kscope;
using namespace kscope::test;
using namespace std::string_view_literals;

namespace {

template <class Record>
Bytes struct_record(const Record& r) {
  Bytes b(sizeof(r));
  std::memcpy(b.data(), &r, sizeof(r));
  return b;
}

// trace dns: a response whose two answers point back at the question's name.
Bytes dns_seed() {
  static constexpr uint8_t kMsg[] = {
      0x4b, 0x00, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,                        // header
      5, 'k', 'n', 'o', 'w', 'n', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1,         // question, A
      0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 231, 99, 1,                  // A
      0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16, 0xfd, 0, 0, 0x99, 0, 0, 0, 0,  // AAAA
      0, 0, 0, 0, 0, 0, 0, 1};
  ks_dns_event e{};
  e.hdr = {.type = KS_EVENT_DNS, .size = sizeof(e), .pid = 4242, .tgid = 4242};
  e.family = 4;
  e.proto = 17;
  e.sport = 53;
  e.dport = 40000;
  e.msg_len = e.payload_len = sizeof(kMsg);
  std::memcpy(e.payload, kMsg, sizeof(kMsg));
  return struct_record(e);
}

// trace drops and dropcount: a TCP SYN dropped for want of a socket, and its count.
Bytes drop_seed() {
  ks_drop_event e{};
  e.hdr = {.type = KS_EVENT_DROP, .size = sizeof(e)};
  e.reason = 2;
  e.protocol = 0x0800;
  e.family = 4;
  e.l4proto = 6;
  e.sport = 40000;
  e.dport = 10;
  e.tcp_flags = 0x02;
  return struct_record(e);
}

Bytes dropcount_seed() {
  ks_drop_count_event e{};
  e.hdr = {.type = KS_EVENT_DROP_COUNT, .size = sizeof(e)};
  e.key.reason = 2;
  e.count = 3;
  return struct_record(e);
}

std::vector<Bytes> seed_records() {
  std::vector<Bytes> r = {
      exec_record(Header{}, {.args = "exec_target\0with space\0\0q\"uote\0--flag=7\0"sv}),
      exec_record(Header{.comm = "exec_many"}, {.ret = -2, .args = "/nonexistent/x\0a\0"sv}),
      exec_record(Header{}, {.args = ""sv}),
      exec_record(Header{}, {.flags = KS_EXEC_MORE_ARGS, .args = "a\0b\0c\0d\0"sv}),
      exec_record(Header{}, {.flags = KS_EXEC_ARGS_CUT, .args = "a\0bcdef"sv}),
      exec_record(Header{.comm = "abcdefghijklmnop"}, {.args = "caf\xc3\xa9\0bad\xff\0\x01\0"sv}),
      open_record(open_header(), {.syscall = KS_OPEN_OPENAT2, .path = "/tmp/kscope-known\0"sv}),
      open_record(open_header(), {.flags = ~0ull, .ret = -13, .dfd = 5, .path = "rel\npath\0"sv}),
      open_record(open_header(), {.path = "/abc"sv}),
      dns_seed(),
      drop_seed(),
      dropcount_seed(),
  };
  // A header and zeros for each record type: the start for tools without a builder here.
  for (uint32_t type = 1; type <= 8; ++type) {
    RecordBuilder b;
    put_header(b, Header{.type = type});
    b.b.resize(b.b.size() + 72);
    b.set_size(static_cast<uint32_t>(b.b.size()));
    r.push_back(b.b);
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir / "decode");
  std::filesystem::create_directories(dir / "replay");
  auto records = seed_records();
  for (size_t i = 0; i < records.size(); ++i) {
    std::ofstream f(dir / "decode" / ("record-" + std::to_string(i)), std::ios::binary);
    f.write(reinterpret_cast<const char*>(records[i].data()),
            static_cast<std::streamsize>(records[i].size()));
  }
  for (const Tool* t : all_tools()) {
    std::string name(t->info().name);
    for (bool empty : {false, true}) {
      std::string path = (dir / "replay" / (name + (empty ? "-empty.rec" : ".rec"))).string();
      auto w = RecordWriter::create(path, name, this_boot_wall_offset_ns());
      if (!w) {
        std::fprintf(stderr, "make_seeds: %s\n", w.error().message.c_str());
        return 1;
      }
      if (!empty)
        for (const auto& r : records) w->write(r);
      if (auto c = w->close(); !c) {
        std::fprintf(stderr, "make_seeds: %s\n", c.error().message.c_str());
        return 1;
      }
    }
  }
  std::printf("make_seeds: %zu records, %zu record files in %s\n", records.size(),
              2 * all_tools().size(), dir.c_str());
  return 0;
}
