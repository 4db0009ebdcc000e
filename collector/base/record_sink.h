// Where ring buffer records go: the live ring buffer and the replay source feed the same sink.
#pragma once

#include <cstddef>
#include <span>

namespace kscope {

class RecordSink {
 public:
  virtual ~RecordSink() = default;
  // One record, common header first, valid only for the duration of the call.
  virtual void on_record(std::span<const std::byte> record) = 0;
};

}  // namespace kscope
