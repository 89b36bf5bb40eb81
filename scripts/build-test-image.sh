#!/usr/bin/env bash
# Builds Kaze's tiny test guest from Debian packages only:
#   OUT/vmlinuz     the Debian cloud kernel (from linux-image-cloud-amd64's dependency)
#   OUT/initrd.img  a busybox initramfs that loads the virtio modules, reports and writes
#                   its virtio disk, and prints "tick N" on the serial console every second.
# Usage: scripts/build-test-image.sh [OUT]   (default: .test-image in the repository)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/.test-image}
if [[ -s $out/vmlinuz && -s $out/initrd.img && $out/initrd.img -nt $0 ]]; then
  echo "test image ready in $out"; exit 0
fi
for tool in busybox cpio dpkg-deb apt-get gzip; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install busybox-static cpio)" >&2; exit 1; }
done
[[ -x /bin/busybox ]] && file -L /bin/busybox 2>/dev/null | grep -q dynamic && {
  echo "/bin/busybox is dynamically linked: install busybox-static" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
meta=linux-image-cloud-amd64
kpkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
if [[ -z $kpkg ]]; then apt-get update -q >/dev/null; kpkg=$(apt-cache depends "$meta" | awk '/Depends: linux-image-/{print $2; exit}'); fi
[[ -n $kpkg ]] || { echo "cannot resolve the kernel package behind $meta" >&2; exit 1; }
apt-get download -q "$kpkg" >/dev/null
dpkg-deb -x ./"$kpkg"_*.deb kernel
kver=$(ls kernel/lib/modules | head -n1)
mods=kernel/lib/modules/$kver/kernel

root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,mnt,lib/modules,etc}
cp /bin/busybox "$root/bin/busybox"
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover \
  net_failover virtio_net virtio_blk virtio_balloon virtio_mem button evdev; do
  f=$(find "$mods" -name "$m.ko*" | head -n1)
  [[ -n $f ]] || continue
  case $f in
    *.xz) xz -dc "$f" >"$root/lib/modules/$m.ko" ;;
    *.zst) zstd -qdc "$f" >"$root/lib/modules/$m.ko" ;;
    *) cp "$f" "$root/lib/modules/$m.ko" ;;
  esac
  echo "$m" >>"$root/lib/modules/order"
done

cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m.ko 2>/dev/null; done
echo "kaze-guest: up, kernel $(uname -r)"
arg() { for w in $(cat /proc/cmdline); do case $w in "$1"=*) echo "${w#*=}";; esac; done; }
# Power button (ACPI shutdown from the host): any event from it powers the guest off, unless
# kaze.power-button=ignore (a guest that does not react, to test the hard-stop timeout).
[ "$(arg kaze.power-button)" = ignore ] && echo "kaze-guest: ignoring the power button"
[ "$(arg kaze.power-button)" = ignore ] || for n in /sys/class/input/input*; do
  if grep -q "Power Button" "$n/name" 2>/dev/null; then
    for e in "$n"/event*; do
      dev=/dev/input/$(basename "$e")
      echo "kaze-guest: power button on $dev"
      ( i=0; while [ ! -c "$dev" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
        dd if="$dev" bs=24 count=1 >/dev/null 2>&1 &&
          { echo "kaze-guest: power button, powering off"; sync; poweroff -f; } ) &
    done
  fi
done
sleep 1
if [ -b /dev/vda ]; then
  content=$(dd if=/dev/vda bs=64 count=1 2>/dev/null | tr -d '\000' | tr -cd 'A-Za-z0-9_.:-')
  echo "disk-read: [${content}]"
  w=$(arg kaze.write)
  if [ -n "$w" ]; then
    printf '%s' "$w" | dd of=/dev/vda bs=64 count=1 conv=sync,fsync 2>/dev/null
    echo "disk-write: [$w]"
  fi
else
  echo "disk: none"
fi
# kaze.records=on: write numbered records to the disk, record N in sector N, each with fsync,
# and print "ack N" once the write is durable. At boot, first print how many records 1..K are
# on the disk in order ("records-present: K"), then go on from K+1.
if [ "$(arg kaze.records)" = on ] && [ -b /dev/vda ]; then
  have=0; chunk=0
  while :; do  # 64 KiB (128 sectors) at a time, while every sector so far held its record
    have=$(dd if=/dev/vda bs=65536 skip=$chunk count=1 2>/dev/null | tr -c 'a-z0-9 ' '\n' |
      awk -v k=$have '/^rec [0-9]+$/ { if ($2 + 0 == k + 1) k++; else exit } END { print k + 0 }')
    chunk=$((chunk+1))
    [ "$have" -eq $((chunk * 128 - 1)) ] || break
  done
  echo "records-present: $have"
  ( r=$have
    while true; do
      r=$((r+1))
      if printf 'rec %d\n' $r | dd of=/dev/vda bs=512 seek=$r count=1 conv=sync,notrunc,fsync 2>/dev/null
      then echo "ack $r"; else echo "write-failed $r"; r=$((r-1)); sleep 1; fi
      usleep 20000  # about 40 records a second: enough to catch a loss, quick to scan at boot
    done ) &
fi
# Whatever is typed on the serial console comes back as a line, to test the console's input.
( while read -r line; do echo "kaze-guest: console input [$line]"; done ) </dev/console &
n=0
while true; do
  n=$((n+1))
  echo "tick $n"
  sleep 1
done
INIT
chmod +x "$root/init"
mkdir -p "$out"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) >"$out/initrd.img.tmp"
cp kernel/boot/vmlinuz-"$kver" "$out/vmlinuz.tmp"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"; mv "$out/initrd.img.tmp" "$out/initrd.img"
echo "$kver" >"$out/KERNEL_VERSION"
echo "test image ready in $out (kernel $kver)"
