# One source for every starting point: what differs (the disk it starts
# from, the login user, the shutdown command, resizing, the network) is a
# variable set in that start's pkrvars file: <os>.pkrvars.hcl for the native
# base that images/base_image.py builds (the path tested here),
# <os>-cloud.pkrvars.hcl for the distribution's cloud image (needs the network).

locals {
  # Packer 1.6.6 has no efi_boot, and a `-drive` in qemuargs would replace
  # all of Packer's own drives (disk and cd_files CD). So the firmware is
  # attached as block nodes that the q35 machine maps to its two pflash
  # chips: OVMF code read-only, this build's variables copy writable.
  machine = "type=q35,accel=${var.accelerator},pflash0=ovmf-code,pflash1=ovmf-vars"

  # Packer's default netdev forwards SSH on every host interface and leaves
  # the guest's outbound network open. This one forwards SSH on the
  # loopback only and, with restrict=on, gives the guest no way out.
  netdev = "user,id=user.0,restrict=${var.restrict_network ? "on" : "off"},hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22"

  qemuargs = [
    ["-machine", local.machine],
    ["-blockdev", "driver=file,node-name=ovmf-code,filename=${var.ovmf_code},read-only=on"],
    ["-blockdev", "driver=file,node-name=ovmf-vars,filename=${var.efi_vars_file}"],
    ["-cpu", var.cpu_model],
    ["-netdev", local.netdev],
    ["-serial", "file:${var.console_log}"],
  ]
}

source "qemu" "february" {
  iso_url          = var.iso_url
  iso_checksum     = var.iso_checksum
  disk_image       = true
  use_backing_file = var.use_backing_file
  # The native base is a GPT disk of its own size; growing it would strand
  # the backup GPT (skip_resize_disk). On a backing file the overlay is
  # created at disk_size, so the pipeline passes the base's own virtual size.
  skip_resize_disk = var.skip_resize_disk
  disk_size        = var.disk_size
  qemu_img_args {
    # QEMU >= 6.1 refuses an overlay whose backing file has no stated format.
    create = ["-F", "qcow2"]
  }

  format           = "qcow2"
  vm_name          = "february.qcow2"
  output_directory = var.output_directory
  # images/pipeline.py converts (and so compacts and flattens) the result.
  skip_compaction = true

  accelerator    = var.accelerator
  cpus           = var.cpus
  memory         = var.memory
  headless       = var.headless
  disk_interface = var.disk_interface
  net_device     = var.net_device
  # Deleted blocks (fstrim in generalize.sh) become holes in the qcow2.
  disk_discard = "unmap"
  qemuargs     = local.qemuargs

  vnc_bind_address = "127.0.0.1"
  boot_wait        = "1s"
  # The SSH forward's loopback port: clear of the dev VM's 2222/2525.
  host_port_min = 2300
  host_port_max = 2399

  cd_files = ["${var.seed_dir}/user-data", "${var.seed_dir}/meta-data"]
  cd_label = "cidata"

  communicator         = "ssh"
  ssh_username         = var.ssh_username
  ssh_private_key_file = var.ssh_private_key_file
  ssh_timeout          = var.ssh_timeout

  shutdown_command = var.shutdown_command
  shutdown_timeout = "5m"
}
