# The bake: boot, wait for cloud-init, run the SAME deploy.py as a real
# host gets, its image phase only (no secrets, keys, host name or running
# mail services: pyinfra_deploys/phases.py), record what that phase placed
# and the package versions, generalize, shut down.

locals {
  # The repository root, where deploy.py and inventory/bake.py live.
  repo = abspath("${path.root}/../..")

  # Root on the native base, the default user on a cloud image: sudo works for both.
  sudo_sh = "chmod +x {{ .Path }}; {{ .Vars }} sudo -E sh -eux '{{ .Path }}'"
}

build {
  sources = ["source.qemu.february"]

  # 1. First boot: wait until cloud-init has applied the seed (the build key,
  #    the locale). Exit 2 is "done, with recoverable errors" on cloud-init
  #    >= 23.4 (noble); anything else fails the bake.
  provisioner "shell" {
    execute_command = local.sudo_sh
    inline = [
      "rc=0; cloud-init status --wait >/dev/null || rc=$?",
      "cloud-init status --long || true",
      "[ \"$rc\" -eq 0 ] || [ \"$rc\" -eq 2 ]",
    ]
  }

  # 2. The deploy itself, from the controller over the build VM's forwarded
  #    SSH port: pyinfra with inventory/bake.py (host data february_bake).
  provisioner "shell-local" {
    inline_shebang = "/bin/sh -eu"
    environment_vars = [
      "FEBRUARY_BAKE_HOST=${build.Host}",
      "FEBRUARY_BAKE_PORT=${build.Port}",
      "FEBRUARY_BAKE_USER=${build.User}",
      "FEBRUARY_BAKE_SSH_KEY=${var.ssh_private_key_file}",
      "FEBRUARY_BAKE_GROUPS=${var.bake_groups}",
    ]
    inline = [
      "cd '${local.repo}'",
      "'${var.python}' -m pyinfra -y inventory/bake.py deploy.py",
    ]
  }

  # 3. What the image phase placed (its last operation wrote the record), for the manifest.
  provisioner "file" {
    direction   = "download"
    source      = var.image_phase_record
    destination = var.image_phase_file
  }

  # 4. What is installed, for the manifest: `dpkg-query -W` with the status.
  provisioner "shell" {
    execute_command = local.sudo_sh
    inline = [
      "dpkg-query -W -f='$${Package}\\t$${Version}\\t$${db:Status-Status}\\t$${Architecture}\\n' > /tmp/february-packages.txt",
    ]
  }

  provisioner "file" {
    direction   = "download"
    source      = "/tmp/february-packages.txt"
    destination = var.packages_file
  }

  # 5. Generalize: remove everything that is per host or per build (host
  #    keys, machine-id, cloud-init state, logs, the build key, ...), with
  #    February's paths from pyinfra_deploys/layout.py (images/generalize.py).
  #    The builder's shutdown_command then powers the VM off.
  provisioner "shell" {
    execute_command = local.sudo_sh
    environment_vars = [
      "FEBRUARY_EMPTIED=${var.generalize_emptied}",
      "FEBRUARY_REMOVED=${var.generalize_removed}",
      "FEBRUARY_NO_HASHES=${var.generalize_no_hashes}",
    ]
    script = "${path.root}/../generalize.sh"
  }
}
