# Ubuntu 24.04 from Canonical's cloud image, where its download site is
# reachable (it is not on the test machines: validated only, and its
# checksum refusal tested on loopback).
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
# Grown to disk_size; cloud-init's growpart fills it.
skip_resize_disk = false
# The cloud image's default user, with sudo.
ssh_username     = "ubuntu"
shutdown_command = "sudo shutdown -P now"
