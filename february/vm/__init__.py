"""The local February VM: QEMU, a cloud-init seed, the fake outside world."""
