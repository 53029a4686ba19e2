# Boot variants under QEMU: memory sizes, memory statistics, reset and power-off.
import re

import pytest

from conftest import elf_defines

MIB = 1 << 20


@pytest.mark.parametrize("mem", ["256M", "4G"])
def test_boots_to_prompt(boot, mem):
    m = boot(smp=4, mem=mem)
    assert "boot: Multiboot2" in m.boot_output, m.boot_output
    assert m.run("version").startswith("hv ")


@pytest.mark.parametrize("mem_mib", [256, 4096])
def test_mem_matches_ram(boot, mem_mib):
    if not elf_defines("frame_get_stats"):
        pytest.skip("frame allocator (frame_get_stats) not in the tree yet")
    m = boot(smp=4, mem=f"{mem_mib}M")
    out = m.run("mem")

    def field(name):
        g = re.search(rf"^{name}:\s+(\d+) MiB \((\d+) frames", out, re.M)
        assert g, f"no '{name}' line in:\n{out}"
        return int(g.group(1)), int(g.group(2))

    ram_mib, ram_frames = field("RAM")
    managed_mib, managed = field("managed")
    free_mib, free = field("free")
    _, reserved = field("reserved")
    # QEMU's map holds all the RAM given except the legacy hole below 1 MiB and a
    # few firmware pages (above 4 GiB in the 4 GiB case: it splits at 3 GiB).
    assert mem_mib * MIB - 2 * MIB <= ram_frames * 4096 <= mem_mib * MIB, out
    assert ram_mib == ram_frames * 4096 // MIB, out
    assert managed + reserved == ram_frames, out
    assert 0 < free <= managed, out
    assert managed >= ram_frames * 0.98, out  # reserved: image, mm metadata, low memory
    assert re.search(r"^heap:\s+\d+ bytes in use, \d+ KiB held, \d+ allocations, \d+ frees$",
                     out, re.M), out


def test_poweroff_exits_qemu(boot):
    if not elf_defines("machine_poweroff"):
        pytest.skip("power control (machine_poweroff) not in the tree yet")
    m = boot(smp=4, mem="256M")
    m.send("poweroff\r")
    m.expect_exact("powering off", 30, "the power-off message")
    status = m.wait_exit(60)
    assert status == 0, f"QEMU exit status {status}"


def test_reboot_resets(boot):
    if not elf_defines("machine_reboot"):
        pytest.skip("power control (machine_reboot) not in the tree yet")
    # With -no-reboot, QEMU ends at the reset instead of starting again.
    m = boot(smp=4, mem="256M")
    m.send("reboot\r")
    m.expect_exact("rebooting", 30, "the reboot message")
    status = m.wait_exit(60)
    assert status == 0, f"QEMU exit status {status}"


def test_loglevel_option_sets_console_level(boot):
    m = boot(smp=2, mem="256M", cmdline="console=com1 loglevel=3")
    assert m.run("log level").startswith("console log level: 3 (err)")
    # info lines after the option took effect reach the log but not the console
    log = m.run("log")
    later = [l for l in log.split("\n") if "shell:" in l]
    assert later, log
    assert "shell:" not in m.boot_output, m.boot_output


def test_bad_loglevel_option_is_reported(boot):
    m = boot(smp=2, mem="256M", cmdline="console=com1 loglevel=99")
    assert "ignoring loglevel" in m.boot_output, m.boot_output
    assert m.run("log level").startswith("console log level: 6 ")


def test_boots_with_multiboot1(boot):
    """GRUB's `multiboot` (version 1) loads the same image: memory map, command line,
    modules and (without an RSDP tag) the ACPI tables found by the BIOS-area scan."""
    m = boot(smp=2, mem="256M", loader="multiboot", cmdline="console=com1 loglevel=6 mb1test")
    assert "boot: Multiboot1 from 'GRUB" in m.boot_output, m.boot_output
    assert "mb1test" in m.boot_output, m.boot_output
    assert "2 of 2 CPUs online" in m.run("cpus")
    out = m.run("mem")
    ram = int(re.search(r"^RAM:\s+(\d+) MiB", out, re.M).group(1))
    assert 250 <= ram <= 256, out
