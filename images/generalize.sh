#!/bin/sh
# Generalize a system: remove everything that belongs to one host or to one
# build, so that every machine made from it gets its own identity at its
# first boot (cloud-init and ssh-keygen) and its own secrets at its first
# converge. Works with cloud-init 22.4 (Debian 12) and 24.x/25.x (Ubuntu 24.04).
#
#   generalize.sh          the running system: Packer runs it as root, as the
#                          bake's last provisioner
#   generalize.sh ROOT     the system in the directory ROOT, from outside it:
#                          the base layer's mmdebstrap --customize-hook
#                          (images/base_layer.py) passes its root
#
# February's own paths come from pyinfra_deploys/layout.py, in the
# environment (images/generalize.py; both callers pass them):
#   FEBRUARY_EMPTIED    state folders: emptied, kept
#   FEBRUARY_REMOVED    per-host secrets and the deploy's records: removed
#   FEBRUARY_NO_HASHES  files that must hold no password hash after a bake
#
# Every path is under the root ("$r"). Given a ROOT, nothing outside it is
# touched: what acts on a running system (cloud-init clean, apt-get clean,
# journald, fstrim) is done by path instead, or not at all.
set -eux

if [ $# -gt 1 ] || { [ $# -eq 1 ] && [ -z "$1" ]; }; then
    echo "usage: generalize.sh [ROOT] (no argument: the running system; never an empty ROOT)" >&2
    exit 2
fi
if [ -z "${FEBRUARY_EMPTIED:-}" ] || [ -z "${FEBRUARY_REMOVED:-}" ] || [ -z "${FEBRUARY_NO_HASHES:-}" ]; then
    echo "generalize.sh: FEBRUARY_EMPTIED, FEBRUARY_REMOVED and FEBRUARY_NO_HASHES must name February's paths (images/generalize.py)" >&2
    exit 2
fi
# Each an absolute path below / of plain characters: the lists are split on
# blanks (globbing off: set -f), and a path that were / or led out of the
# root would be fatal.
set -f
for path in $FEBRUARY_EMPTIED $FEBRUARY_REMOVED $FEBRUARY_NO_HASHES; do
    case $path in
    [!/]* | / | */ | *//* | */./* | */../* | */. | */.. | *[!A-Za-z0-9_./+@%=:,-]*)
        echo "generalize.sh: not a plain absolute path: $path" >&2
        exit 2
        ;;
    esac
done
set +f
r=$(CDPATH='' cd -- "${1:-/}" && pwd -P)
if [ "$r" = / ]; then r=; fi

live() { [ -z "$r" ]; }

# Overwrite, then unlink: free space is not zeroed (see 11), so a private
# key must not survive in freed blocks. A symbolic link is only removed
# (its target may lie outside the root).
scrub() {
    for file in "$@"; do
        if [ -f "$file" ] && [ ! -h "$file" ]; then shred -u "$file"; else rm -f "$file"; fi
    done
}

# 1. SSH host keys: made per host at first boot (cloud-init; ssh-keygen -A).
scrub "$r"/etc/ssh/ssh_host_*

# 2. Machine id: empty, so systemd makes a new one at first boot. Not
#    removed (that makes /etc read-only setups fail) and not "uninitialized"
#    (cloud-init 22.4 has no `clean --machine-id`; the stand-in ships it empty).
truncate -s 0 "$r"/etc/machine-id
rm -f "$r"/var/lib/dbus/machine-id
scrub "$r"/var/lib/systemd/random-seed "$r"/var/lib/systemd/credential.secret

# 3. cloud-init: forget this instance, its logs and its seed, so the next
#    boot is a first boot that reads the new host's NoCloud seed.
if live; then
    cloud-init clean --logs --seed
else
    rm -f "$r"/var/log/cloud-init*.log
fi
rm -rf "$r"/var/lib/cloud/*

# 4. Per-host secrets, keys and state. The deploy's image phase (all a bake
#    runs) makes none of them; a bake that did is a bug, so fail rather than
#    scrub in silence where a file must exist, and remove the rest. The
#    deploy's records go too: the first converge makes them for the host.
set -f
for file in $FEBRUARY_NO_HASHES; do
    if [ -f "$r$file" ] && grep -q '\$' "$r$file"; then
        echo "generalize: $r$file holds password hashes after a bake" >&2
        exit 1
    fi
done
for path in $FEBRUARY_REMOVED; do
    if [ -d "$r$path" ] && [ ! -h "$r$path" ]; then rm -rf "$r$path"; else scrub "$r$path"; fi
done
for dir in $FEBRUARY_EMPTIED; do
    if [ -d "$r$dir" ] && [ ! -h "$r$dir" ]; then find "$r$dir" -mindepth 1 -delete; fi
done
set +f
rm -f "$r"/etc/ssl/private/ssl-cert-snakeoil.key "$r"/etc/ssl/certs/ssl-cert-snakeoil.pem

# 5. The build's throwaway SSH key, wherever cloud-init put it.
rm -f "$r"/root/.ssh/authorized_keys "$r"/root/.ssh/known_hosts
if [ -d "$r"/home ]; then find "$r"/home -path '*/.ssh/authorized_keys' -type f -delete; fi

# 6. Shell histories.
rm -f "$r"/root/.bash_history "$r"/root/.lesshst "$r"/root/.viminfo
if [ -d "$r"/home ]; then
    find "$r"/home -maxdepth 2 \( -name .bash_history -o -name .lesshst -o -name .viminfo \) -type f -delete
fi

# 7. Host name: cloud-init sets the real one at first boot.
echo localhost > "$r"/etc/hostname

# 8. apt lists and caches: stale on the day the image is used.
if live; then
    apt-get clean
else
    rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/cache/apt/archives/partial/* "$r"/var/cache/apt/*.bin
fi
rm -rf "$r"/var/lib/apt/lists/*

# 9. Logs: the journal and everything under /var/log (the files are kept,
#    empty, where a package expects them; rotated copies go). journald
#    moves to /run first, so the shutdown's own messages stay off the disk.
if live; then journalctl --relinquish-var || true; fi
rm -rf "$r"/var/log/journal/*
if [ -d "$r"/var/log ]; then
    find "$r"/var/log -type f \( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' \) -delete
    find "$r"/var/log -type f -exec truncate -s 0 {} +
fi

# 10. Temporary files, this build's scripts included. A ROOT's /tmp is left
#     to its builder: mmdebstrap keeps its apt configuration there while the
#     hooks run (its cleanup still needs it), then empties it itself.
if live; then
    find /tmp /var/tmp -mindepth 1 -delete || true
else
    find "$r"/var/tmp -mindepth 1 -delete || true
fi

# 11. Free space back to the host: whole free qcow2 clusters become holes
#     (the disk is attached with discard=unmap), which keeps the image small.
#     Free space is not zeroed: remnants of deleted files stay in partly
#     used clusters, so the image test's byte scan also catches a secret
#     that was written during the bake and deleted again. A root directory
#     is not a disk of its own: the base layer's disk is made from it later.
if live; then
    sync
    fstrim -av || true
fi
