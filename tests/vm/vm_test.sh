#!/usr/bin/env bash
# The vm tier: the privileged tier inside QEMU on one of Debian's 6.1 kernels, which have the
# kprobes and fentry this machine's kernel lacks. Builds an initramfs from the build tree
# (busybox-static, kscope, the privileged test binary, the testprogs, their shared libraries)
# and boots it with TCG (nested KVM is not reliable on the machines this runs on), then
# passes or fails with the privileged tier's exit code and prints its output.
#
#   vm_test.sh FLAVOUR KSCOPE PRIVILEGED_TESTS TESTPROGS_DIR [GTEST_FILTER]
#
# FLAVOUR is amd64, cloud-amd64 or rt-amd64: the kernel scripts/install-deps.sh unpacked into
# /var/lib/kscope/vm-kernels/FLAVOUR. Exit 77 (skipped) when that kernel or QEMU is missing.
# KSCOPE_VM_GTEST_ARGS adds gtest flags (--gtest_repeat=10); KSCOPE_VM_KEEP=1 keeps the
# initramfs and both serial logs in /tmp/kscope-vm.*.
set -euo pipefail

flavour=$1 kscope=$2 tests_bin=$3 testprogs=$(realpath "$4") filter=${5:-}
kernels=${KSCOPE_VM_KERNELS:-/var/lib/kscope/vm-kernels}
vmlinuz=$(ls "$kernels/$flavour"/boot/vmlinuz-* 2>/dev/null | head -1 || true)
if [ -z "$vmlinuz" ]; then
  echo "SKIP: no $flavour kernel in $kernels: run scripts/install-deps.sh" >&2
  exit 77
fi
if ! command -v qemu-system-x86_64 >/dev/null || [ ! -x /bin/busybox ]; then
  echo "SKIP: needs qemu-system-x86_64 and busybox-static: run scripts/install-deps.sh" >&2
  exit 77
fi

work=$(mktemp -d /tmp/kscope-vm.XXXXXX)
trap '[ -n "${KSCOPE_VM_KEEP:-}" ] || rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,kscope,usr/bin} "$root$testprogs"

install -m 0755 /bin/busybox "$root/bin/busybox"
ln -s ../../bin/busybox "$root/usr/bin/unshare"   # the exec tests run /usr/bin/unshare
install -m 0755 "$(dirname "$0")/init.sh" "$root/init"
cp "$kscope" "$tests_bin" "$root/kscope/"
cp -a "$testprogs"/. "$root$testprogs/"
# Host tools the tests call that busybox lacks, at the host's path: iproute2's ip for the
# network tests' namespaces and veth pairs (busybox's ip has no netns).
host_tools=(/usr/bin/install /usr/bin/ip)
cp "${host_tools[@]}" "$root/usr/bin/"

# Kernel modules the tests need (doctor's tc check: clsact is in sch_ingress, the BPF
# classifier in cls_bpf; the network tests' veth pairs), each after the modules it depends on (read from its .modinfo: the
# package ships no modules.dep).
moddir=$(ls -d "$kernels/$flavour"/lib/modules/* | head -1)
modules=()
add_module() {
  local ko dep
  ko=$(find "$moddir" -name "$1.ko" | head -1)
  [ -n "$ko" ] || { echo "FAIL: module $1 is not in $moddir" >&2; exit 1; }
  for dep in $(grep -a -o 'depends=[^[:cntrl:]]*' "$ko" | cut -d= -f2 | tr , ' '); do
    add_module "$dep"
  done
  [[ " ${modules[*]} " == *" ${ko##*/} "* ]] && return
  cp "$ko" "$root/kscope/"
  modules+=("${ko##*/}")
}
add_module sch_ingress
add_module cls_bpf
add_module veth
add_module loop  # trace biolatency's tests read and write a loop device

# Every shared library the binaries load, at the path the host has it.
libdirs=()
while read -r lib; do
  cp -L --parents "$lib" "$root/"
  libdirs+=("$(dirname "$lib")")
done < <(for f in "$kscope" "$tests_bin" "$testprogs"/* "${host_tools[@]}"; do
           [ -f "$f" ] && [ -x "$f" ] && ldd "$f" 2>/dev/null || true
         done | grep -o '/[^ ]*' | sort -u)
{
  echo "export LD_LIBRARY_PATH=$(printf '%s\n' "${libdirs[@]}" | sort -u | paste -sd:)"
  echo "tests='$filter'"
  echo "export KSCOPE_TEST_EXECS=100  # TCG execs ~30/s: 1000 would take a minute per hook"
  echo "gtest_args='${KSCOPE_VM_GTEST_ARGS:-}'"
  echo "modules='${modules[*]}'"
} >"$root/vm.env"

(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$work/initramfs.cpio"

# Each CPU is a thread under TCG; 2 vCPUs keep the per-CPU code paths honest.
started=$(date +%s%N)
timeout "${KSCOPE_VM_TIMEOUT:-1200}" qemu-system-x86_64 \
  -accel tcg,thread=multi -cpu max -smp 2 -m 2048 \
  -kernel "$vmlinuz" -initrd "$work/initramfs.cpio" \
  -append "console=ttyS0 panic=-1 quiet" -no-reboot \
  -display none -monitor none \
  -serial "file:$work/console.log" -serial "file:$work/result.log" || {
  rc=$?
  echo "FAIL: qemu exited with $rc (124: timed out); the kernel's console:" >&2
  tail -50 "$work/console.log" >&2
  exit 1
}
elapsed_ms=$((($(date +%s%N) - started) / 1000000))

cat "$work/result.log"
echo "kscope-vm: $flavour $(basename "$vmlinuz") booted and ran in ${elapsed_ms} ms"
rc=$(sed -n 's/^kscope-vm: exit \([0-9]*\)\r\?$/\1/p' "$work/result.log")
if [ -z "$rc" ]; then
  echo "FAIL: the privileged tier did not finish; the kernel's console:" >&2
  tail -50 "$work/console.log" >&2
  exit 1
fi
if grep -q '^\[==========\] Running 0 tests' "$work/result.log"; then
  echo "FAIL: no test matched '$filter'"
  exit 1
fi
[ "$rc" = 0 ] && echo "PASS" || echo "FAIL: the privileged tier exited with $rc"
exit "$rc"
