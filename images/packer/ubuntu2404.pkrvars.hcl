# Ubuntu 24.04 from its native base (images/base_image.py, the OS declared in
# images/oses.py): the path built and tested here.
#
# iso_url and iso_checksum are not here: the base image is built and cached
# under a folder named by its inputs' hash, so the pipeline passes its path
# and sha256 with -var (see images/pipeline.py). The base already carries
# every package of the deploy, so the bake needs no network at all.
accelerator      = "tcg"
cpu_model        = "max"
restrict_network = true
use_backing_file = false
# The base's own GPT (images/disk.py); the pipeline passes its actual size.
disk_size        = "4096M"
skip_resize_disk = true
# The native base has no default user: Packer logs in as root.
ssh_username     = "root"
shutdown_command = "shutdown -P now"
