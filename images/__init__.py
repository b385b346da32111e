"""The image pipeline: the natively built package layer, bootable disks, Packer bakes."""
