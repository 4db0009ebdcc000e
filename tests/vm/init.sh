#!/bin/busybox sh
# /init of the vm tier's initramfs: mount what the privileged tier needs, run it, and write
# its output and exit code to the second serial port (the first carries the kernel's log).
# Then power off; the host's vm_test.sh reads the result.
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin:/sbin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
# /tmp stays on the initramfs (writable already): the build tree may live under /tmp, and
# the tests find their testprogs at its path. tracefs is left unmounted on purpose: kscope
# mounts it itself, as on a bare host.
. /vm.env  # LD_LIBRARY_PATH, the tests to run ($tests), the modules to load ($modules)
for m in $modules; do insmod "/kscope/$m"; done
ip link set lo up
mkdir -p /run/netns  # `ip netns add` bind-mounts each namespace here

out=/dev/ttyS1
{
  echo "kscope-vm: kernel $(uname -r), $(nproc) CPUs"
  /kscope/kscope doctor
  echo "kscope-vm: privileged tier"
  /kscope/kscope_privileged_tests --gtest_color=no ${tests:+--gtest_filter="$tests"} ${gtest_args:-}
  echo "kscope-vm: exit $?"
} >"$out" 2>&1
sync
poweroff -f
