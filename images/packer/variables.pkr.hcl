# Inputs of the February golden-image bake. Per-start values live in
# <os>.pkrvars.hcl (the native base) and <os>-cloud.pkrvars.hcl (the cloud
# image); per-build values (the
# throwaway SSH key, the seed folder, the firmware variables copy, output
# paths) are passed by images/pipeline.py with -var.

# ----- where the disk starts from -----

variable "iso_url" {
  type        = string
  description = "Disk image the build boots (disk_image = true): the path of the cached native base qcow2, or a cloud image URL."
}

variable "iso_checksum" {
  type        = string
  description = "Pinned checksum of iso_url: \"sha256:<hex>\", or \"file:<url of a SHA256SUMS>\"."

  validation {
    # (Packer 1.6.6 has no regex function: check the prefix and the hex digits.)
    condition = (
      (substr(var.iso_checksum, 0, 5) == "file:" && length(var.iso_checksum) > 5) ||
      (substr(var.iso_checksum, 0, 7) == "sha256:" && length(var.iso_checksum) == 71 && trim(substr(var.iso_checksum, 7, 64), "0123456789abcdef") == "")
    )
    error_message = "The iso_checksum must be \"sha256:<64 hex digits>\" or \"file:<SHA256SUMS url>\"; an unpinned image is not accepted."
  }
}

variable "use_backing_file" {
  type        = bool
  description = "Native base only: write the build's changes to a qcow2 overlay on the cached base instead of copying it first (a cheap config-only rebake; the pipeline flattens the result)."
  default     = false
}

variable "disk_size" {
  type        = string
  description = "Virtual disk size: a cloud image is grown to it; on the native base it sizes the backing-file overlay and must equal the base's own size (the pipeline passes it)."
  default     = "8G"

  validation {
    condition = (
      length(var.disk_size) > 1 &&
      contains(["M", "G"], substr(var.disk_size, length(var.disk_size) - 1, 1)) &&
      trim(substr(var.disk_size, 0, length(var.disk_size) - 1), "0123456789") == ""
    )
    error_message = "The disk_size must be a number followed by M or G, e.g. \"8G\"."
  }
}

variable "skip_resize_disk" {
  type        = bool
  description = "Keep the disk at the image's own size: true for the native base (its GPT ends there), false for a cloud image grown to disk_size."
  default     = true
}

# ----- the build VM -----

variable "accelerator" {
  type        = string
  description = "QEMU accelerator: kvm where it really works, tcg (emulation) elsewhere."
  default     = "tcg"

  validation {
    condition     = contains(["kvm", "tcg", "hvf", "whpx", "none"], var.accelerator)
    error_message = "The accelerator must be one of kvm, tcg, hvf, whpx, none."
  }
}

variable "cpu_model" {
  type        = string
  description = "QEMU -cpu model: \"host\" with kvm, \"max\" with tcg."
  default     = "max"

  validation {
    condition     = contains(["host", "max", "qemu64"], var.cpu_model)
    error_message = "The cpu_model must be one of host, max, qemu64."
  }
}

variable "cpus" {
  type        = number
  description = "Virtual CPUs of the build VM."
  default     = 2
}

variable "memory" {
  type        = number
  description = "Memory of the build VM, in MiB."
  default     = 2048
}

variable "headless" {
  type        = bool
  description = "Run QEMU without a window (VNC stays on the loopback)."
  default     = true
}

variable "disk_interface" {
  type        = string
  description = "Bus of the build VM's disk."
  default     = "virtio"

  validation {
    condition     = contains(["virtio", "virtio-scsi", "ide", "scsi"], var.disk_interface)
    error_message = "The disk_interface must be one of virtio, virtio-scsi, ide, scsi."
  }
}

variable "net_device" {
  type        = string
  description = "NIC model of the build VM."
  default     = "virtio-net"

  validation {
    condition     = contains(["virtio-net", "e1000", "e1000e"], var.net_device)
    error_message = "The net_device must be one of virtio-net, e1000, e1000e."
  }
}

variable "restrict_network" {
  type        = bool
  description = "QEMU user-net restrict=on: the build VM reaches nothing but its forwarded SSH port. Off only where the bake must install packages from the network (a cloud image)."
  default     = true
}

variable "ovmf_code" {
  type        = string
  description = "UEFI firmware code (read-only pflash 0)."
  default     = "/usr/share/OVMF/OVMF_CODE_4M.fd"
}

variable "efi_vars_file" {
  type        = string
  description = "A writable copy of OVMF_VARS_4M.fd for this build (pflash 1); the pipeline makes one per build."
}

variable "console_log" {
  type        = string
  description = "File that receives the build VM's serial console."
  default     = "/dev/null"
}

# ----- first boot and provisioning -----

variable "seed_dir" {
  type        = string
  description = "Folder with the NoCloud user-data and meta-data for the build VM (rendered from images/cloud-init/bake-user-data.j2); put on a `cidata` CD."
}

variable "ssh_private_key_file" {
  type        = string
  description = "Throwaway ed25519 key made for this one build; its public half is in the seed's user-data and removed by generalize.sh."
}

variable "ssh_username" {
  type        = string
  description = "The user Packer logs in as: root on the native base, the cloud image's default user (with sudo) there."

  validation {
    condition     = length(var.ssh_username) > 0 && trim(var.ssh_username, "abcdefghijklmnopqrstuvwxyz0123456789_-") == ""
    error_message = "The ssh_username must be a plain user name (a-z, 0-9, _ and -)."
  }
}

variable "shutdown_command" {
  type        = string
  description = "How the build VM powers off once generalized (through sudo for a non-root login)."
  default     = "shutdown -P now"
}

variable "ssh_timeout" {
  type        = string
  description = "How long to wait for the build VM's SSH (TCG boots are slow)."
  default     = "30m"
}

variable "python" {
  type        = string
  description = "Python interpreter (with pyinfra) that runs the deploy on the controller."
  default     = "python3"
}

variable "bake_groups" {
  type        = string
  description = "Inventory groups the build host joins besides bake, comma-separated (inventory/bake.py)."
  default     = ""
}

variable "image_phase_record" {
  type        = string
  description = "Where the image phase's record is in the build VM (pyinfra_deploys/layout.py IMAGE_PHASE_RECORD)."
}

variable "image_phase_file" {
  type        = string
  description = "Where the image phase's record is downloaded."
}

variable "packages_file" {
  type        = string
  description = "Where the build VM's `dpkg-query -W` listing is downloaded."
}

variable "output_directory" {
  type        = string
  description = "Packer's output folder (must not exist yet); the pipeline converts its qcow2 into the final artifacts."
}

# ----- generalize -----
# generalize.sh's February paths, from pyinfra_deploys/layout.py: the
# pipeline's Packer environment carries them (images/generalize.py, through
# images/packer_stream.packer_env); the script refuses to run without them.

variable "generalize_emptied" {
  type        = string
  description = "FEBRUARY_EMPTIED of generalize.sh: the state folders it empties."
  default     = env("FEBRUARY_EMPTIED")
}

variable "generalize_removed" {
  type        = string
  description = "FEBRUARY_REMOVED of generalize.sh: the per-host secrets and records it removes."
  default     = env("FEBRUARY_REMOVED")
}

variable "generalize_no_hashes" {
  type        = string
  description = "FEBRUARY_NO_HASHES of generalize.sh: the files that must hold no password hash after a bake."
  default     = env("FEBRUARY_NO_HASHES")
}
