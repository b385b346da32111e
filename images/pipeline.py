"""The golden image: the cached base, baked by Packer with the same deploy.py.

``build(output)`` (``february image build``) returns a folder
``output/<inputs-hash16>/`` holding:

- ``february.qcow2``: the generalized image (standalone, no backing file);
- ``february.raw``: the same disk, raw, for ``dd`` onto a real disk;
- ``manifest.json``: the hash of every input, the base image's sha256, the
  installed package versions, the image phase's digest and files (what
  deploy.py's image phase placed: pyinfra_deploys/phases.py), the deploy's
  git revision, each artifact's sha256, the build time;
- ``packages.txt``: the bake's ``dpkg-query -W`` listing;
- ``image-phase.txt``: the image phase's record, one file a line;
- ``build.log`` and ``console.log``: Packer's machine-readable output and
  the build VM's serial console.

The folder is named by the hash of the inputs (base image key, Packer files,
deploy code, generalize.sh, the bake's user-data), so an unchanged input set
returns the existing folder at once. A build is written into a temporary
folder and renamed into place only when complete: an interrupted build never
looks finished.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jinja2

from images import oses
from images.accel import accel_args
from images.base_image import base_image, cache_root
from images.base_layer import BaseLayer, pins, versions
from images.firmware import OVMF_CODE, OVMF_VARS
from images.manifest import read_manifest, write_manifest
from images.oses import DEFAULT
from images.packer_stream import Event, packer_env, run_packer
from images.progress import console, stage
from images.stream import run_streamed
from pyinfra_deploys import layout
from pyinfra_deploys.bake_groups import check_bake_groups
from pyinfra_deploys.digest import file_hashes, files_matching
from pyinfra_deploys.image_record import parse_record
from pyinfra_deploys.repo import REPO

PACKER = os.environ.get("FEBRUARY_PACKER", "packer")
PACKER_DIR = REPO / "images" / "packer"
BAKE_USER_DATA = REPO / "images" / "cloud-init" / "bake-user-data.j2"

QCOW2 = "february.qcow2"
RAW = "february.raw"
ARTIFACTS = (QCOW2, RAW)

# Bump when the layout or the conversion of the artifacts changes.
FORMAT = 1

# Everything that decides what the image contains, relative to the repo.
INPUT_PATTERNS: tuple[str, ...] = (
    "deploy.py",
    "pyinfra_deploys/**/*",
    "files/**/*",
    "inventory/**/*",
    "images/generalize.sh",
    "images/packer/*",
    "images/cloud-init/bake-user-data.j2",
)

# Packer's one source (images/packer/sources.pkr.hcl); a start's pkrvars file says the rest.
SOURCE = "qemu.february"


# ----- inputs -----


def input_files(repo: Path = REPO) -> list[Path]:
    """The input files, sorted, without caches."""
    return files_matching(repo, INPUT_PATTERNS)


def snapshot_inputs(dest: Path, repo: Path = REPO) -> Path:
    """Copy the input files into ``dest``; the bake runs from this copy.

    Others may edit the repository during a bake of several minutes: the
    image must be made of exactly the files its inputs hash names.
    """
    for path in input_files(repo):
        target = dest / path.relative_to(repo)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return dest


def sha256_file(path: Path, chunk: int = 4 * 1024 * 1024) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def inputs_digest(base_key: str, start: str, repo: Path = REPO, groups: tuple[str, ...] = ()) -> tuple[str, dict[str, str]]:
    """The inputs hash and, per input file, its own sha256 (for the manifest)."""
    files = file_hashes(input_files(repo), repo)
    return digest_of(base_key, start, files, groups), files


def digest_of(base_key: str, start: str, files: dict[str, str], groups: tuple[str, ...] = ()) -> str:
    """The inputs hash from the base key, the start (pkrvars file), each input file's sha256 and the bake's groups."""
    record: dict[str, Any] = {"format": FORMAT, "os": start, "base": base_key, "files": files}
    if groups:
        record["groups"] = list(groups)
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


# ----- the cache -----


def artifact_record(path: Path, sha256: str | None = None) -> dict[str, Any]:
    st = path.stat()
    return {
        "sha256": sha256 or sha256_file(path),
        "size": st.st_size,
        "allocated": st.st_blocks * 512,
        "mtime_ns": st.st_mtime_ns,
    }


def cached(folder: Path, verify: bool = False) -> dict[str, Any] | None:
    """The manifest of a complete build in ``folder``, or None.

    Complete means: the manifest exists and every artifact has the size and
    modification time it recorded (cheap); with ``verify`` each artifact is
    also hashed again and compared with its recorded sha256 (slow: GBs).
    """
    try:
        manifest = read_manifest(folder)
        for name in ARTIFACTS:
            record = manifest["artifacts"][name]
            st = (folder / name).stat()
            if st.st_size != record["size"] or st.st_mtime_ns != record["mtime_ns"]:
                return None
            if verify and sha256_file(folder / name) != record["sha256"]:
                return None
    except (FileNotFoundError, KeyError, ValueError, TypeError):
        return None
    return manifest


# ----- one build's inputs -----


def accelerator() -> tuple[str, str]:
    """(accelerator, cpu model), chosen as the dev VM chooses them."""
    return ("kvm", "host") if "kvm" in accel_args() else ("tcg", "max")


def make_build_key(folder: Path) -> Path:
    """A throwaway ed25519 key pair for one build; returns the private key's path."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = folder / "build_ed25519"
    for stale in (key, key.with_suffix(".pub")):
        stale.unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "february-bake (throwaway)", "-f", str(key)], check=True)
    return key


def write_bake_seed(folder: Path, login_user: str, public_key: str, template: Path = BAKE_USER_DATA) -> Path:
    """The build VM's NoCloud user-data and meta-data (Packer puts them on a `cidata` CD)."""
    folder.mkdir(parents=True, exist_ok=True)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template.parent),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    (folder / "user-data").write_text(env.get_template(template.name).render(login_user=login_user, build_public_key=public_key))
    (folder / "meta-data").write_text(f"instance-id: february-bake-{uuid.uuid4()}\nlocal-hostname: february-bake\n")
    return folder


def packer_argv(command: str, start: str, variables: dict[str, str], packer_dir: Path = PACKER_DIR) -> list[str]:
    """``packer <command>`` for one start: its pkrvars file, then the per-build -var values."""
    argv = [PACKER, command]
    if command == "build":
        argv.append("-machine-readable")
    argv.append(f"-only={SOURCE}")
    argv.append(f"-var-file={packer_dir / f'{start}.pkrvars.hcl'}")
    for name, value in variables.items():
        argv += ["-var", f"{name}={value}"]
    argv.append(str(packer_dir))
    return argv


def pkrvars_value(start: str, name: str, packer_dir: Path = PACKER_DIR) -> str | None:
    """A variable's value in ``<start>.pkrvars.hcl`` (``name = value`` lines), None when it is not set there."""
    for line in (packer_dir / f"{start}.pkrvars.hcl").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == name:
            return value.strip().strip('"')
    return None


def pkrvars_required(start: str, name: str, packer_dir: Path = PACKER_DIR) -> str:
    """A variable that ``<start>.pkrvars.hcl`` must set."""
    value = pkrvars_value(start, name, packer_dir)
    if value is None:
        raise KeyError(f"{name} is not set in {start}.pkrvars.hcl")
    return value


def starts_from_base(start: str, packer_dir: Path = PACKER_DIR) -> bool:
    """Whether the start bakes the cached native base (its pkrvars file names no image of its own)."""
    return pkrvars_value(start, "iso_url", packer_dir) is None


def bake_variables(
    start: str, per_build: dict[str, str], base: Path | None = None, base_sha256: str | None = None
) -> dict[str, str]:
    """The -var values of one bake: the per-build ones, plus the starting disk where the pipeline supplies it.

    A native-base start bakes the cached base, so its path, sha256 and size
    are passed. A cloud start names its image URL and pinned checksum in its
    pkrvars file: Packer downloads it, checks it before anything boots, and
    the bake's network stays open (apt installs the mail packages, through
    ``apt_proxy`` when set: the deploy's base role writes it first).
    """
    if not starts_from_base(start):
        return dict(per_build)
    if base is None or base_sha256 is None:
        raise ValueError(f"the {start} bake starts from the cached base: pass base and base_sha256")
    return {
        "iso_url": str(base),
        "iso_checksum": f"sha256:{base_sha256}",
        "disk_size": f"{virtual_size_mib(base)}M",
        **per_build,
    }


def read_installed(path: Path) -> list[tuple[str, str, str]]:
    """(name, architecture, version) of each installed package, from the bake's ``dpkg-query -W`` listing
    (package, version, status, architecture; tab-separated)."""
    found: list[tuple[str, str, str]] = []
    for line in path.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) >= 2 and (len(fields) < 3 or fields[2] == "installed"):
            found.append((fields[0], fields[3] if len(fields) > 3 else "", fields[1]))
    return sorted(found)


def read_image_phase(path: Path) -> dict[str, Any]:
    """The image phase's record (pyinfra_deploys/phases.py): its digest, and per file its sha256, mode and owner."""
    return parse_record(path.read_text())


def git_state(repo: Path = REPO) -> dict[str, Any]:
    """The deploy's revision and whether any input differs from it (or is untracked)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "HEAD") or None
    changes = git("status", "--porcelain", "--", *INPUT_PATTERNS)
    return {"head": head, "dirty": bool(changes)}


def virtual_size_mib(image: Path) -> int:
    """A disk image's virtual size in MiB (qemu-img info)."""
    done = subprocess.run(["qemu-img", "info", "--output=json", str(image)], capture_output=True, text=True, check=True)
    return int(json.loads(done.stdout)["virtual-size"]) // (1024 * 1024)


def packer_version() -> str:
    done = subprocess.run(
        [PACKER, "version"], capture_output=True, text=True, check=False, env={**os.environ, "CHECKPOINT_DISABLE": "1"}
    )
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else "unknown"


# ----- the build -----


def _on_packer_event(on_line: Callable[[str], None]) -> Callable[[Event], None]:
    def handle(event: Event) -> None:
        text = event.ui_text
        if text is not None:
            for line in text.splitlines():
                on_line(line)
        elif event.type == "error" and event.data:
            on_line(f"error: {event.data[0]}")

    return handle


def _hash_all(paths: Iterable[Path]) -> dict[Path, str]:
    """sha256 of several large files, in parallel threads (hashlib frees the GIL while it hashes).

    hashlib (OpenSSL, with the CPU's SHA extensions) hashed the 4 GiB raw disk in 2.9 s
    where coreutils' sha256sum took 12.6 s.
    """
    wanted = list(paths)
    with ThreadPoolExecutor(max_workers=len(wanted) or 1) as pool:
        return dict(zip(wanted, pool.map(sha256_file, wanted), strict=True))


def keep_logs(work: Path, folder: Path) -> None:
    """Keep a failed build's logs (not its disks) where the next person looks."""
    logs = [path for path in (work / "build.log", work / "console.log") if path.exists()]
    if logs:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for path in logs:
            shutil.copyfile(path, folder / path.name)
        console.print(f"[red]✗[/red] The bake failed; its logs are in {folder}")


def build(
    output: Path,
    *,
    os_name: str = DEFAULT.name,
    cloud: bool = False,
    use_backing_file: bool = False,
    verify: bool = False,
    build_key_dir: Path | None = None,
    base: Path | None = None,
    groups: tuple[str, ...] = (),
    pinned: tuple[str, ...] = (),
) -> Path:
    """Bake the golden image into ``output/<inputs-hash16>/`` and return that folder.

    An existing complete folder for the same inputs is returned at once
    (``verify`` re-hashes its artifacts first). ``use_backing_file`` bakes
    on a qcow2 overlay of the cached base instead of a full copy; the result
    is flattened, so the artifacts are the same. ``build_key_dir`` keeps the
    build's throwaway SSH key pair there (for a leak scan) instead of in the
    build's temporary folder. ``groups``: the inventory groups (besides
    ``bake``) the build host joins, so that their group_data applies as it
    does to the site's hosts (inventory/bake.py). ``pinned``: the base layer's
    packages at exactly these versions (``base_layer.apt_pins`` of an earlier
    manifest), or a clear error when the archive no longer offers one.
    """
    groups = check_bake_groups(groups)
    release = oses.release(os_name)
    start = release.cloud_pkrvars if cloud else release.pkrvars
    if start is None:
        raise ValueError(f"{release.title} declares no cloud image")
    output = Path(output).resolve()
    if starts_from_base(start):
        if base is None:
            with stage(f"Base image ({release.title}, cached)") as on_line:
                base = base_image(BaseLayer.of(release, pinned=pinned), on_line=on_line)
        base_key = read_manifest(base.parent)["cache_key"]
    else:
        # The cloud image is Packer's to fetch and check (URL and pinned
        # checksum in its pkrvars file, itself an input file).
        base_key = f"{start}:{pkrvars_required(start, 'iso_url')}@{pkrvars_required(start, 'iso_checksum')}"
    final = output / inputs_digest(base_key, start, groups=groups)[0][:16]
    if cached(final, verify=verify) is not None:
        console.print(f"[green]✓[/green] Golden image unchanged: {final}")
        return final

    started = time.monotonic()
    output.mkdir(parents=True, exist_ok=True)
    deploy_git = git_state()
    with tempfile.TemporaryDirectory(prefix=".bake-", dir=output) as tmp_name:
        tmp = Path(tmp_name)
        src = snapshot_inputs(tmp / "src")
        inputs_hash, input_hashes = inputs_digest(base_key, start, repo=src, groups=groups)
        final = output / inputs_hash[:16]
        if cached(final, verify=verify) is not None:  # the repository changed a moment ago
            return final
        work = output / f".{inputs_hash[:16]}.partial-{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        try:
            manifest = _bake(
                base=base,
                base_key=base_key,
                start=start,
                use_backing_file=use_backing_file,
                build_key_dir=build_key_dir,
                groups=groups,
                src=src,
                tmp=tmp,
                work=work,
            )
            manifest = {
                "inputs_hash": inputs_hash,
                "format": FORMAT,
                "os": release.name,
                "start": start,
                "inputs": {"base_image_key": base_key, "files": input_hashes, "groups": list(groups)},
                "deploy": deploy_git,
                **manifest,
                "build_seconds": round(time.monotonic() - started, 1),
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            write_manifest(work, manifest)
            shutil.rmtree(final, ignore_errors=True)  # an incomplete or damaged earlier build
            work.rename(final)
        except BaseException:
            keep_logs(work, output / ".failed" / inputs_hash[:16])
            shutil.rmtree(work, ignore_errors=True)
            raise
    console.print(f"[green]✓[/green] Golden image: {final} ({manifest['build_seconds']:.0f}s)")
    return final


def _bake(
    *,
    base: Path | None,
    base_key: str,
    start: str,
    use_backing_file: bool,
    build_key_dir: Path | None,
    groups: tuple[str, ...],
    src: Path,
    tmp: Path,
    work: Path,
) -> dict[str, Any]:
    """Run Packer from the snapshot ``src``, convert and hash into ``work``; the manifest's build part."""
    with stage("Prepare the bake (build key, seed, firmware variables, base checksum)"):
        key = make_build_key(build_key_dir or tmp / "key")
        public_key = key.with_suffix(".pub").read_text().strip()
        seed = write_bake_seed(
            tmp / "seed", pkrvars_required(start, "ssh_username"), public_key, template=src / BAKE_USER_DATA.relative_to(REPO)
        )
        efi_vars = tmp / "OVMF_VARS.fd"
        shutil.copyfile(OVMF_VARS, efi_vars)
        base_sha256 = sha256_file(base) if base is not None else None
    accel, cpu = accelerator()
    packer_out = tmp / "packer-output"
    packages = work / "packages.txt"
    image_phase = work / "image-phase.txt"
    per_build = {
        "use_backing_file": "true" if use_backing_file else "false",
        "accelerator": accel,
        "cpu_model": cpu,
        "ovmf_code": str(OVMF_CODE),
        "efi_vars_file": str(efi_vars),
        "console_log": str(work / "console.log"),
        "seed_dir": str(seed),
        "ssh_private_key_file": str(key),
        "python": sys.executable,
        "packages_file": str(packages),
        "bake_groups": ",".join(groups),
        "image_phase_record": layout.IMAGE_PHASE_RECORD,
        "image_phase_file": str(image_phase),
        "output_directory": str(packer_out),
    }
    variables = bake_variables(start, per_build, base, base_sha256)
    (tmp / "packer-tmp").mkdir()
    env = packer_env(tmp / "packer-tmp", cache_root() / "packer")
    title = f"Bake with Packer ({start}, {accel}{', on a backing file' if use_backing_file else ''})"
    with stage(title) as on_line:
        run_packer(
            packer_argv("build", start, variables, packer_dir=src / PACKER_DIR.relative_to(REPO)),
            on_event=_on_packer_event(on_line),
            cwd=src,
            env=env,
            log=work / "build.log",
        )
    with stage("Convert to a standalone qcow2 and a raw disk") as on_line:
        baked = packer_out / QCOW2
        run_streamed(["qemu-img", "convert", "-O", "qcow2", baked, work / QCOW2], on_line=on_line)
        run_streamed(["qemu-img", "convert", "-O", "raw", baked, work / RAW], on_line=on_line)
    with stage("Hash the artifacts"):
        digests = _hash_all(work / name for name in ARTIFACTS)
    installed = read_installed(packages)
    return {
        "base_image": {"path": str(base) if base else pkrvars_required(start, "iso_url"), "key": base_key, "sha256": base_sha256},
        "packer": packer_version(),
        "accelerator": accel,
        "use_backing_file": use_backing_file,
        "build_ssh_public_key": public_key,
        "installed_versions": versions(installed),
        "pinned": pins(installed),
        "image_phase": read_image_phase(image_phase),
        "artifacts": {name: artifact_record(work / name, digests[work / name]) for name in ARTIFACTS},
    }
