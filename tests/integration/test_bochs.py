# The Intel path: the same image under Bochs (corei7_skylake_x: VMX, EPT, x2APIC), two CPUs.
# QEMU 7.2's TCG has no x2APIC, so the x2APIC code is exercised here.
import re
import shutil

import pytest

from conftest import elf_defines

pytestmark = [
    pytest.mark.bochs,
    pytest.mark.skipif(shutil.which("bochs") is None, reason="bochs not installed"),
]


def test_bochs_boots_to_prompt(boot):
    m = boot(emulator="bochs", smp=2, mem="256M")
    assert "boot: Multiboot2" in m.boot_output, m.boot_output
    assert re.search(r"lapic: x2APIC mode", m.boot_output), m.boot_output
    assert m.run("version").startswith("hv ")
    out = m.run("frobnicate")
    assert out == "unknown command 'frobnicate' (try 'help')\n", out
    if not elf_defines("smp_boot_aps"):
        pytest.skip("SMP start-up (smp_boot_aps) not in the tree yet")
    out = m.run("cpus")
    assert "2 of 2 CPUs online" in out, out


def test_bochs_nox2apic(boot):
    m = boot(emulator="bochs", smp=2, mem="256M", cmdline="console=com1 nox2apic")
    assert re.search(r"lapic: xAPIC mode", m.boot_output), m.boot_output
    out = m.run("cpus")
    assert "2 of 2 CPUs online" in out, out
