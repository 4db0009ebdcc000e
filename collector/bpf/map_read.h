// Reading an aggregating probe's maps from user space: every entry of a hash map, taken out
// as it is read (so the next interval starts empty), and the per-CPU slots of a value summed.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "base/result.h"

namespace kscope {

// Every key of hash map `fd`, walked before anything is deleted: deleting while walking
// would restart the walk (bpf_map_get_next_key of a deleted key returns the first key).
template <class Key>
Result<std::vector<Key>> map_keys(int fd) {
  std::vector<Key> keys;
  Key key{}, next{};
  const Key* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    keys.push_back(next);
    key = next;
    prev = &key;
  }
  if (errno != ENOENT) return fail_errno("walk a BPF map's keys", errno);
  return keys;
}

// Every (key, value) of hash map `fd`, each deleted once read. Entries the probe adds while
// this runs are either read or left for the next interval, never lost: a key is deleted only
// after its value was read, and a value updated in between is read again next time only if
// the probe re-created it.
template <class Key, class Value>
Result<std::vector<std::pair<Key, Value>>> take_map(int fd) {
  auto keys = map_keys<Key>(fd);
  if (!keys) return std::unexpected(keys.error());
  std::vector<std::pair<Key, Value>> out;
  out.reserve(keys->size());
  for (const Key& k : *keys) {
    Value v{};
    if (bpf_map_lookup_and_delete_elem(fd, &k, &v) == 0) {
      out.emplace_back(k, v);
      continue;
    }
    // Hash maps take lookup-and-delete only since 5.14; before, lookup then delete.
    if (bpf_map_lookup_elem(fd, &k, &v) != 0) continue;  // gone meanwhile (LRU eviction)
    bpf_map_delete_elem(fd, &k);
    out.emplace_back(k, v);
  }
  return out;
}

// Every (key, summed value) of a per-CPU hash map `fd`, deleted once read. `add` adds one
// CPU's value into the sum. The kernel lays the CPUs' values out 8-byte aligned: Value's
// size must be a multiple of 8.
template <class Key, class Value, class Add>
Result<std::vector<std::pair<Key, Value>>> take_percpu_map(int fd, Add add) {
  static_assert(sizeof(Value) % 8 == 0, "per-CPU values are 8-byte aligned");
  int cpus = libbpf_num_possible_cpus();
  if (cpus < 0) return fail_errno("count possible CPUs", -cpus);
  auto keys = map_keys<Key>(fd);
  if (!keys) return std::unexpected(keys.error());
  std::vector<std::pair<Key, Value>> out;
  std::vector<Value> per_cpu(cpus);
  for (const Key& k : *keys) {
    if (bpf_map_lookup_elem(fd, &k, per_cpu.data()) != 0) continue;
    bpf_map_delete_elem(fd, &k);
    Value sum{};
    for (const Value& v : per_cpu) add(sum, v);
    out.emplace_back(k, sum);
  }
  return out;
}

}  // namespace kscope
