# Debian 12 stand-in: build with -only=qemu.debian12.
#
# iso_url and iso_checksum are not here: the base image is built and cached
# by images/base_image.py under a folder named by its inputs' hash, so the
# pipeline passes its path and sha256 with -var (see images/pipeline.py).
# The stand-in already carries every package of the deploy, so the bake
# needs no network at all.
accelerator      = "tcg"
cpu_model        = "max"
restrict_network = true
use_backing_file = false
# The stand-in's size (images/disk.py); the pipeline passes the base's actual size.
disk_size = "4096M"
