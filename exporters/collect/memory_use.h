// What the collector's memory budget measures: its own anonymous resident memory (heap,
// stacks: what its series, flow table and caches take; the binary and the ring buffers'
// mapped pages are not in it), and the memory of the BPF maps it holds.
#pragma once

#include <cstdint>

namespace kscope::collect {

// RssAnon of /proc/self/status, in bytes; 0 when it cannot be read. (Under AddressSanitizer:
// the heap allocated.)
uint64_t anon_resident_bytes();
// The sum of the memlock of every BPF map this process holds an fd of (/proc/self/fdinfo):
// what the kernel charges for them.
uint64_t bpf_map_bytes();

}  // namespace kscope::collect
