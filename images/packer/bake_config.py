"""pyinfra's configuration for the bake's deploy (images/packer/build.pkr.hcl passes it with --config).

Beside the lab's VM tests the bake runs at a lower CPU priority
(tests/image/bake_job.py), and under emulation a starved build VM's SSH
handshake can outlast pyinfra's default of 10 s.
"""

CONNECT_TIMEOUT = 120
