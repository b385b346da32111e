"""Start, wait for and stop a QEMU VM with a closed user-mode network."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shlex
import shutil
import socket
import subprocess
import time
import warnings
from pathlib import Path

from february.process import gone, pid_of, terminate
from february.remote import multiplexed
from february.vm.config import ACME_GUEST_PORT, DNS_GUEST_PORT, OUTSIDE_ADDRESS, SMARTHOST_GUEST_PORT, VmConfig
from images.accel import accel_args
from images.firmware import OVMF_CODE, OVMF_VARS


class VmError(RuntimeError):
    """The VM could not be started or reached."""


CONSOLE_TAIL_LINES = 25


def console_tail(config: VmConfig) -> str:
    """Where to read the VM's serial console, and its last lines: what the guest said before it stopped answering."""
    try:
        lines = config.console_log.read_text(errors="replace").splitlines()[-CONSOLE_TAIL_LINES:]
    except OSError:
        lines = ["(nothing written yet)"]
    return f"see {config.console_log}; its last lines:\n" + "\n".join(lines)


# What a guest's kernel prints last when it dies. Under TCG a guest has died so with no fault of
# its own: rehearsal r14's session VM, a double fault in the SLUB allocator's fast path right
# after an emulated cmpxchg16b, with EFLAGS holding RAX's low bits, while sslyze scanned it.
KERNEL_PANIC = "Kernel panic - not syncing"


def panic_lines(console: Path) -> str | None:
    """The console's lines up to its guest's kernel panic, when that kernel panicked; else None.

    A dead guest answers nothing and resets no connection (QEMU's user network keeps the
    host's end open): whoever waits on it waits out every timeout. This lets a waiter stop at once.
    """
    try:
        text = console.read_text(errors="replace")
    except OSError:
        return None
    at = text.rfind(KERNEL_PANIC)
    if at < 0:
        return None
    before = text[:at].splitlines()[-CONSOLE_TAIL_LINES:]
    return f"{console}:\n" + "\n".join([*before, text[at:].splitlines()[0]])


def run_state(config: VmConfig) -> str:
    """QEMU's own word on the guest (QMP ``query-status``): "running", or why not ("io-error": the host's disk is full)."""
    return asyncio.run(_run_state(config))


async def _run_state(config: VmConfig) -> str:
    from qemu.qmp import QMPClient, QMPError  # see _plug_usb_disk

    monitor = QMPClient(config.name)
    try:
        await asyncio.wait_for(monitor.connect(str(config.qmp_socket)), timeout=10)
        status = await asyncio.wait_for(monitor.execute("query-status"), timeout=10)
    except (OSError, TimeoutError, QMPError) as error:
        return f"unknown (QMP: {error or type(error).__name__})"
    finally:
        await monitor.disconnect()
    assert isinstance(status, dict), status
    return str(status["status"])


def unreachable(config: VmConfig) -> str:
    """Why the VM may not answer: whether QEMU runs and what it says of the guest, the host's free disk, the console's end."""
    if running_pid(config) is None:
        return f"QEMU is not running; {console_tail(config)}"
    free = shutil.disk_usage(config.dir).free / 2**30
    return f"QEMU says the guest is {run_state(config)}; {free:.1f} GiB free on the host beside its disk; {console_tail(config)}"


def netdev_arg(config: VmConfig) -> str:
    """User-mode net with restrict=on: only the forwards below cross it.

    hostfwd brings the VM's SSH and mail ports to the host's loopback;
    guestfwd gives the guest one outside address, which leads to the fake
    smarthost, the fake DNS and the ACME server (pebble) on the host's
    loopback and to nothing else.
    """
    parts = ["user", "id=n0", "restrict=on"]
    for host_port, guest_port in config.forwards().values():
        parts.append(f"hostfwd=tcp:127.0.0.1:{host_port}-:{guest_port}")
    parts.append(f"guestfwd=tcp:{OUTSIDE_ADDRESS}:{SMARTHOST_GUEST_PORT}-cmd:nc 127.0.0.1 {config.smarthost_port}")
    parts.append(f"guestfwd=tcp:{OUTSIDE_ADDRESS}:{DNS_GUEST_PORT}-cmd:nc 127.0.0.1 {config.dns_port}")
    parts.append(f"guestfwd=tcp:{OUTSIDE_ADDRESS}:{ACME_GUEST_PORT}-cmd:nc 127.0.0.1 {config.acme_port}")
    return ",".join(parts)


# The USB controller every local VM has, with free ports for a disk plugged in while it runs.
USB_BUS = "usb"


def plug_usb_disk(config: VmConfig, image: Path, name: str) -> None:
    """Plug the raw disk ``image`` into the running VM as a USB disk named ``name``, as an owner plugs one in."""
    asyncio.run(_plug_usb_disk(config, image, name))  # a loop of its own: a caller's default loop may be closed


async def _plug_usb_disk(config: VmConfig, image: Path, name: str) -> None:
    # Imported here: qemu.qmp must not come before pyinfra patches the standard library with gevent.
    from qemu.qmp import QMPClient

    monitor = QMPClient(config.name)
    await monitor.connect(str(config.qmp_socket))
    try:
        await monitor.execute(
            "blockdev-add", {"driver": "raw", "node-name": name, "file": {"driver": "file", "filename": str(image)}}
        )
        await monitor.execute("device_add", {"driver": "usb-storage", "id": name, "drive": name, "bus": f"{USB_BUS}.0"})
    finally:
        await monitor.disconnect()


def qemu_argv(config: VmConfig, disk: Path, seed: Path | None, extra_disks: tuple[Path, ...] = ()) -> list[str]:
    # A new machine's firmware settings: boot entries saved by an earlier VM in this folder name
    # its devices, and when those moved (another device added) the firmware tried PXE instead.
    vars_copy = config.dir / "OVMF_VARS.fd"
    shutil.copyfile(OVMF_VARS, vars_copy)
    argv = [
        "qemu-system-x86_64",
        "-name",
        f"february-{config.name}",
        "-machine",
        "q35",
        *accel_args(),
        "-smp",
        str(config.cpus),
        "-m",
        str(config.memory_mib),
        "-drive",
        f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
        "-drive",
        f"if=pflash,format=raw,file={vars_copy}",
        "-netdev",
        netdev_arg(config),
        "-device",
        f"{config.nic},netdev=n0",
        "-display",
        "none",
        # Appended to, so a power cycle keeps what the guest said while it shut down.
        "-chardev",
        f"file,id=console,path={config.console_log},append=on",
        "-serial",
        "chardev:console",
        "-pidfile",
        str(config.pidfile),
        "-daemonize",
        # A USB controller with free ports, as on a real box, and the monitor that plugs a disk into it.
        "-device",
        f"qemu-xhci,id={USB_BUS}",
        "-qmp",
        f"unix:{config.qmp_socket},server=on,wait=off",
    ]
    if config.disk_bus == "nvme":
        argv += [
            "-drive",
            f"if=none,id=root,file={disk},format={config.disk_format}",
            "-device",
            "nvme,drive=root,serial=february0",
        ]
    else:
        argv += ["-drive", f"if=virtio,file={disk},format={config.disk_format}"]
    if seed is not None:
        argv += ["-drive", f"if=virtio,file={seed},format=raw,readonly=on"]
    for extra in extra_disks:  # a second disk (a backup disk), raw
        argv += ["-drive", f"if=virtio,file={extra},format=raw"]
    return argv


def make_overlay(base: Path, overlay: Path, size_gib: int) -> None:
    """A qcow2 overlay on the cached base: the base is never written."""
    overlay.unlink(missing_ok=True)
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(base), str(overlay), f"{size_gib}G"],
        check=True,
    )


def running_pid(config: VmConfig) -> int | None:
    return pid_of(config.pidfile)


def start(config: VmConfig, disk: Path, seed: Path | None, extra_disks: tuple[Path, ...] = ()) -> None:
    if running_pid(config) is not None:
        raise VmError(f"VM {config.name!r} is already running (pid file {config.pidfile}); stop it first")
    for name, (host_port, _) in config.forwards().items():
        if port_open("127.0.0.1", host_port):
            raise VmError(f"127.0.0.1:{host_port} (for {name}) is already in use")
    config.console_log.unlink(missing_ok=True)
    argv = qemu_argv(config, disk, seed, extra_disks)
    _launch(argv)
    _argv_file(config).write_text(json.dumps(argv))


def _argv_file(config: VmConfig) -> Path:
    return config.dir / "qemu.argv.json"


def _launch(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise VmError(f"qemu failed to start: {done.stderr.strip()}")


def power_cycle(config: VmConfig, timeout: float = 300.0) -> float:
    """Power the guest off from inside, wait until QEMU exits, power it on again with the same disks; return seconds to SSH.

    A cold boot, not a guest reboot: under TCG the firmware sometimes spins
    forever after a guest-initiated reset, which a real box does not do.
    What an owner would do by hand when a box hangs is done once, and said in a
    RuntimeWarning with the console's last lines: a guest still not off after
    ``timeout`` has its power cut (QEMU ended), and one that does not answer SSH
    within ``timeout`` after power-on is started once more.
    """
    pid = running_pid(config)
    if pid is None:
        raise VmError(f"VM {config.name!r} is not running")
    argv = json.loads(_argv_file(config).read_text())
    # The connection may hang as the guest goes down: QEMU's exit is what counts.
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run(ssh_argv(config) + [as_admin(config, "systemctl poweroff")], capture_output=True, timeout=60)
    if not gone(pid, timeout, poll=0.5):  # gone, not only its pid file: its ports are free then
        warnings.warn(
            f"VM {config.name!r} did not power off within {timeout:.0f}s: power cut; {console_tail(config)}",
            RuntimeWarning,
            stacklevel=2,
        )
        terminate(pid, 20.0)
    began = time.monotonic()
    for attempt in (1, 2):
        _launch(argv)
        try:
            wait_for_ssh(config, timeout=timeout)
            break
        except VmError as error:
            if attempt == 2:
                raise
            warnings.warn(f"VM {config.name!r} powered on again: {error}", RuntimeWarning, stacklevel=2)
            stop(config)
    wait_for_cloud_init(config)
    return time.monotonic() - began


def stop(config: VmConfig, timeout: float = 20.0) -> bool:
    """Stop the VM; True if one was running."""
    pid = running_pid(config)
    if pid is None:
        return False
    terminate(pid, timeout)
    config.pidfile.unlink(missing_ok=True)
    return True


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for_ssh(config: VmConfig, timeout: float = 300.0) -> float:
    """Wait until ``ssh <ssh_user>@vm true`` succeeds; return the seconds waited."""
    started = time.monotonic()
    argv = ssh_argv(config) + ["true"]
    while time.monotonic() - started < timeout:
        if running_pid(config) is None:
            raise VmError(f"QEMU exited while booting; {console_tail(config)}")
        done = subprocess.run(argv, capture_output=True, timeout=60)
        if done.returncode == 0:
            return time.monotonic() - started
        time.sleep(2)
    raise VmError(f"no SSH on 127.0.0.1:{config.ssh_port} after {timeout:.0f}s; {console_tail(config)}")


def wait_for_cloud_init(config: VmConfig, timeout: float = 600.0) -> None:
    """Wait until cloud-init has run every boot stage (SSH answers before its last stage restarts sshd)."""
    command = as_admin(config, "cloud-init status --wait >/dev/null; true")
    deadline = time.monotonic() + timeout
    while True:
        try:
            done = subprocess.run(ssh_argv(config) + [command], capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            done = None
        if done is not None and done.returncode == 0:
            return
        # 255: the connection went down (sshd restarted by cloud-init): ask again
        if time.monotonic() > deadline:
            raise VmError(f"cloud-init did not finish within {timeout:.0f}s; {console_tail(config)}")
        time.sleep(2)


def as_admin(config: VmConfig, command: str) -> str:
    """``command`` as root on the VM: through sudo when its SSH user is an admin user."""
    return command if config.ssh_user == "root" else f"sudo -n sh -c {shlex.quote(command)}"


def ssh_argv(config: VmConfig) -> list[str]:
    return [
        "ssh",
        "-i",
        str(config.ssh_key),
        "-p",
        str(config.ssh_port),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        # A VM under TCG beside two others (a bake, the owner's box) may take
        # its time over a handshake; a paused or dead one is told apart by
        # unreachable(), not by a shorter wait.
        "ConnectTimeout=30",
        "-o",
        "BatchMode=yes",
        *multiplexed(config.dir / "ssh-%C"),
        f"{config.ssh_user}@127.0.0.1",
    ]
