"""Which filesystem a store is on decides whether LMDB may write through its map."""

from geolru.store.filesystems import filesystem_type, overwrites_in_place

MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 27 0:35 / /srv rw,relatime shared:7 - btrfs /dev/sdb1 rw,ssd
41 40 0:36 / /srv/fast\\040disk rw,relatime - xfs /dev/sdc1 rw
42 27 0:37 / /srv2 rw - zfs tank/srv2 rw
"""


def test_the_deepest_mount_above_a_path_decides(tmp_path):
    info = tmp_path / "mountinfo"
    info.write_text(MOUNTINFO)
    assert filesystem_type("/srv/data/store", str(info)) == "btrfs"
    assert filesystem_type("/srv/fast disk/store", str(info)) == "xfs"  # escaped space
    assert filesystem_type("/srv", str(info)) == "btrfs"
    assert filesystem_type("/srv2x/store", str(info)) == "ext4"  # not under /srv2
    assert filesystem_type("/srv2/store", str(info)) == "zfs"
    assert filesystem_type("/x", str(tmp_path / "missing")) is None


def test_this_machines_disk_and_tmpfs_overwrite_in_place(tmp_path):
    assert filesystem_type(str(tmp_path)) is not None
    assert overwrites_in_place(str(tmp_path))
    assert overwrites_in_place("/dev/shm")
