#!/bin/sh
# Runs inside the freshly debootstrapped root filesystem of a test host image (chroot).
# Turns a minbase Debian into something that boots like a fresh VPS under docker:
# systemd as PID 1, sshd with per-host keys, root login by key only, Python 3.
# Any change to this file changes the image's recipe hash, so images are rebuilt.
set -eu
suite="$1"

# Full apt sources, as on a provider's image (security updates included).
cat > /etc/apt/sources.list <<SRC
deb http://deb.debian.org/debian ${suite} main
deb http://deb.debian.org/debian ${suite}-updates main
deb http://deb.debian.org/debian-security ${suite}-security main
SRC

# Every host gets its own identity at first boot.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
rm -f /etc/ssh/ssh_host_*
mkdir -p /etc/systemd/system/ssh.service.d
cat > /etc/systemd/system/ssh.service.d/host-keys.conf <<'UNIT'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
UNIT
systemctl enable ssh.service >/dev/null 2>&1

# Units that cannot work in a container and only put the system into "degraded".
for unit in getty@tty1.service console-getty.service proc-sys-fs-binfmt_misc.automount \
            systemd-firstboot.service; do
  ln -sf /dev/null "/etc/systemd/system/${unit}"
done

# Root logs in with a key only (the key is added when a host starts).
passwd -l root >/dev/null
install -d -m 0700 /root/.ssh

# The extra CA certificates the controller trusts (TLS-inspecting proxies), so hosts
# reach the same package indexes the controller reaches.
update-ca-certificates >/dev/null 2>&1 || true

apt-get -o APT::Sandbox::User=root update -qq || true
apt-get clean
# Package lists stay, as on a provider image: the first apt run only refreshes them.
rm -rf /var/cache/apt/*.bin /tmp/* /var/tmp/*
