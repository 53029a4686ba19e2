# The Intel VMX path: the same image under Bochs (corei7_skylake_x), two CPUs.
import shutil

import pytest

pytestmark = [
    pytest.mark.bochs,
    pytest.mark.skipif(shutil.which("bochs") is None, reason="bochs not installed"),
]


def test_bochs_boots_to_prompt(boot):
    m = boot(emulator="bochs", smp=2, mem="256M")
    assert "boot: Multiboot2" in m.boot_output, m.boot_output
    assert m.run("version").startswith("hv ")
    out = m.run("frobnicate")
    assert out == "unknown command 'frobnicate' (try 'help')\n", out
