// deliver_records(): a KS_EVENT_BATCH record (probes/common/stage.bpf.h) reaches the sink as
// the records it holds, in order and byte for byte; any other record passes as it is; a
// damaged batch still hands every byte to the sink, where the damage decodes as malformed.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bpf/ring_buffer.h"
#include "records.h"

namespace kscope::test {
namespace {

struct Collect final : RecordSink {
  std::vector<Bytes> records;
  void on_record(std::span<const std::byte> r) override { records.emplace_back(r.begin(), r.end()); }
};

Bytes open_of(const std::string& path, int fd) {
  return open_record(open_header(), {.ret = fd, .path = path + std::string(1, '\0')});
}

// A batch as ks_stage_out() writes it: a header of type KS_EVENT_BATCH sized for the whole.
Bytes batch_of(const std::vector<Bytes>& held) {
  Header h;
  h.type = KS_EVENT_BATCH;
  h.comm = "";
  RecordBuilder r;
  put_header(r, h);
  for (const auto& rec : held) r.b.insert(r.b.end(), rec.begin(), rec.end());
  r.set_size(static_cast<uint32_t>(r.b.size()));
  return r.b;
}

TEST(Batch, ARecordOfAnotherTypePassesAsItIs) {
  Collect sink;
  Bytes rec = open_of("/etc/hosts", 3);
  EXPECT_EQ(deliver_records(rec, sink), 1u);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0], rec);
}

TEST(Batch, ABatchIsSplitInOrderByteForByte) {
  std::vector<Bytes> held = {open_of("/a", 3), open_of("/etc/longer/path/than/that", 4),
                             open_of("", -2)};
  Collect sink;
  EXPECT_EQ(deliver_records(batch_of(held), sink), 3u);
  EXPECT_EQ(sink.records, held);
}

TEST(Batch, AnEmptyBatchDeliversNothing) {
  Collect sink;
  EXPECT_EQ(deliver_records(batch_of({}), sink), 0u);
  EXPECT_TRUE(sink.records.empty());
}

// A held record whose size runs past the batch: what is left goes to the sink as one
// record, which the tool's decoder then refuses (counted malformed), never silently dropped.
TEST(Batch, ADamagedBatchHandsOverEveryByte) {
  Bytes good = open_of("/a", 3);
  Bytes bad = open_of("/b", 4);
  bad[20] = std::byte{0xff};  // the header's size: far past the batch
  Bytes batch = batch_of({good, bad});
  Collect sink;
  EXPECT_EQ(deliver_records(batch, sink), 2u);
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[0], good);
  EXPECT_EQ(sink.records[1], bad);

  // A tail shorter than a header: delivered as it is.
  Bytes tail = batch_of({good});
  tail.push_back(std::byte{7});
  Collect sink2;
  EXPECT_EQ(deliver_records(tail, sink2), 2u);
  ASSERT_EQ(sink2.records.size(), 2u);
  EXPECT_EQ(sink2.records[1], Bytes{std::byte{7}});
}

}  // namespace
}  // namespace kscope::test
