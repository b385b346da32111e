#!/bin/sh
# Generalize the baked disk: remove everything that belongs to one host or
# to this one build, so that every machine made from the image gets its own
# identity at its first boot (cloud-init and ssh-keygen) and its own secrets
# at its first converge. Run as root by Packer as the last provisioner.
# Works with cloud-init 22.4 (Debian 12) and 24.x/25.x (Ubuntu 24.04).
set -eux

# 1. SSH host keys: made per host at first boot (cloud-init; ssh-keygen -A).
#    Overwritten before unlinking: free space is not zeroed (see 11), and the
#    build VM's private host keys must not survive in freed blocks.
for key in /etc/ssh/ssh_host_*; do
    if [ -f "$key" ]; then shred -u "$key"; fi
done

# 2. Machine id: empty, so systemd makes a new one at first boot. Not
#    removed (that makes /etc read-only setups fail) and not "uninitialized"
#    (cloud-init 22.4 has no `clean --machine-id`; the stand-in ships it empty).
truncate -s 0 /etc/machine-id
rm -f /var/lib/dbus/machine-id
for seed in /var/lib/systemd/random-seed /var/lib/systemd/credential.secret; do
    if [ -f "$seed" ]; then shred -u "$seed"; fi
done

# 3. cloud-init: forget this instance, its logs and its seed, so the next
#    boot is a first boot that reads the new host's NoCloud seed.
cloud-init clean --logs --seed
rm -rf /var/lib/cloud/*

# 4. Per-host secrets and keys. The deploy in bake mode makes none of them;
#    a bake that did is a bug, so fail rather than scrub in silence where a
#    file must exist, and remove the rest.
if [ -f /etc/dovecot/users ] && grep -q '\$' /etc/dovecot/users; then
    echo "generalize: /etc/dovecot/users holds password hashes after a bake" >&2
    exit 1
fi
rm -f /etc/postfix/sasl_passwd /etc/postfix/sasl_passwd.db
if [ -d /etc/ssl/mail ]; then find /etc/ssl/mail -mindepth 1 -delete; fi
if [ -d /var/lib/rspamd/dkim ]; then find /var/lib/rspamd/dkim -mindepth 1 -delete; fi
rm -f /etc/ssl/private/ssl-cert-snakeoil.key /etc/ssl/certs/ssl-cert-snakeoil.pem
# Debconf answers fed by the base role (the bake's mail name): the first
# converge places them again and feeds the host's own.
rm -rf /var/lib/february

# 5. The build's throwaway SSH key, wherever cloud-init put it.
rm -f /root/.ssh/authorized_keys /root/.ssh/known_hosts
find /home -path '*/.ssh/authorized_keys' -type f -delete

# 6. Shell histories.
rm -f /root/.bash_history /root/.lesshst /root/.viminfo
find /home -maxdepth 2 \( -name .bash_history -o -name .lesshst -o -name .viminfo \) -type f -delete

# 7. Host name: cloud-init sets the real one at first boot.
echo localhost > /etc/hostname

# 8. apt lists and caches: stale on the day the image is used.
apt-get clean
rm -rf /var/lib/apt/lists/*

# 9. Logs: the journal and everything under /var/log (the files are kept,
#    empty, where a package expects them; rotated copies go). journald
#    moves to /run first, so the shutdown's own messages stay off the disk.
journalctl --relinquish-var || true
rm -rf /var/log/journal/*
find /var/log -type f \( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' \) -delete
find /var/log -type f -exec truncate -s 0 {} +

# 10. Temporary files, this build's scripts included.
find /tmp /var/tmp -mindepth 1 -delete || true

# 11. Free space back to the host: whole free qcow2 clusters become holes
#     (the disk is attached with discard=unmap), which keeps the image small.
#     Free space is not zeroed: remnants of deleted files stay in partly
#     used clusters, so the image test's byte scan also catches a secret
#     that was written during the bake and deleted again.
sync
fstrim -av || true
