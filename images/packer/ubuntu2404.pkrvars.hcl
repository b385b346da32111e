# Ubuntu 24.04 cloud image: build with -only=qemu.ubuntu2404 where the
# network allows (it cannot be fetched on the test machines; validate only).
#
# For a reproducible build pin a release directory instead of current/:
#   https://cloud-images.ubuntu.com/releases/noble/release-YYYYMMDD/ubuntu-24.04-server-cloudimg-amd64.img
# with that directory's SHA256SUMS.
iso_url      = "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img"
iso_checksum = "file:https://cloud-images.ubuntu.com/noble/current/SHA256SUMS"
disk_size    = "8G"
accelerator  = "kvm"
cpu_model    = "host"
# The cloud image lacks the mail packages: the deploy installs them from the
# Ubuntu archive, so this build's network stays open.
restrict_network = false
