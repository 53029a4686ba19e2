# The AMD SVM backend on its own: `selftest svm` runs tiny guests straight through the
# backend (real mode, protected mode without paging, 64-bit mode, events, NPF, triple fault,
# host interrupts, vCPU threads migrating between CPUs). QEMU TCG (no NRIPS, 16 ASIDs, no
# flush-by-ASID) and Bochs `ryzen` (NRIPS, flush-by-ASID) take different paths in the backend.
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import BUILD, ROOT

SVM_CHECKS = 7  # one PASS/FAIL line per check, see arch/x86/svm/svm_selftest.c


def check_selftest(out, smp, skipped=0):
    results = re.findall(r"^(PASS|FAIL): svm (.*)$", out, re.M)
    assert len(results) == SVM_CHECKS - skipped, out
    assert len(re.findall(r"^SKIP: svm", out, re.M)) == skipped, out
    assert all(r[0] == "PASS" for r in results), out
    assert re.search(r"^svm selftest: 0 failed$", out, re.M), out
    m = re.search(r"^svm smp: (\d+) vCPU threads on (\d+) CPUs, (\d+) exits", out, re.M)
    assert m, out
    assert int(m.group(1)) == 2 * smp and int(m.group(2)) == smp, out
    assert int(m.group(3)) == 2 * smp * 20000, out


def test_svm_selftest_qemu(boot):
    m = boot(smp=4, mem="256M")
    out = m.run("selftest svm", timeout=300)
    assert "16 ASIDs" in out and " NPT" in out and "no-NRIPS" in out, out
    check_selftest(out, 4)
    # The host is intact afterwards: the shell answers and the threads are gone.
    assert m.run("version").startswith("hv ")
    assert "svm-selftest" not in m.run("threads")


@pytest.mark.bochs
@pytest.mark.skipif(shutil.which("bochs") is None, reason="bochs not installed")
def test_svm_selftest_bochs_ryzen(boot):
    m = boot(emulator="bochs", smp=2, mem="256M", bochs_cpu="ryzen")
    # Bochs 2.7 cannot pass two checks (see arch/x86/svm/svm_selftest.h): a guest triple
    # fault stops the emulator, and a guest entered with IF=0 is not interrupted by the host.
    out = m.run("selftest svm-bochs", timeout=900)
    assert " NRIPS" in out and " flush-by-ASID" in out, out
    check_selftest(out, 2, skipped=2)


# The backend under the core's run loop: VMs of the demo guest (it ticks once a second; its
# vCPU 1 waits for a SIPI that never comes), counters, vCPU threads moved between CPUs, and
# an entry refused on purpose.
DEMO_CONFIG = """
[vm demo]
memory = 32M
vcpus = 2
kernel = demo.elf
autostart = yes

[vm other]
memory = 32M
kernel = demo.elf
autostart = yes
"""


def counters(m):
    """The backend's counters line of `virt` as {name: value}."""
    line = re.search(r"^counters: (.*)$", m.run("virt"), re.M).group(1)
    return {name.strip(): int(num) for name, num in re.findall(r"([A-Za-z -]+?) (\d+)(?:,|$)", line)}


def vm_state(m, name):
    for line in m.run("vms").splitlines():
        f = line.split()
        if len(f) >= 3 and f[1] == name:
            return f[2]
    return None


@pytest.fixture
def demo_vms(boot, tmp_path):
    subprocess.run(["make", "-C", ROOT, f"BUILD={BUILD}", "guests"], check=True,
                   capture_output=True, timeout=600)
    conf = tmp_path / "vms.conf"
    conf.write_text(DEMO_CONFIG)
    m = boot(smp=4, mem="256M", modules=[str(conf), os.path.join(BUILD, "guests", "demo.elf")])
    deadline = time.time() + 30
    while vm_state(m, "demo") != "running" or vm_state(m, "other") != "running":
        assert time.time() < deadline, m.run("vms")
        time.sleep(0.5)
    return m


def test_svm_counters_and_migration(demo_vms):
    m = demo_vms
    out = m.run("virt")
    assert "backend: SVM on 4 CPUs" in out, out
    before = counters(m)
    assert set(before) == {"entries", "vCPU migrations", "ASIDs handed out",
                           "full TLB flushes", "ASID flushes"}, out
    # Two vCPUs have entered the guest (demo's vCPU 1 waits for SIPI): one ASID each at least.
    assert before["entries"] > 0 and before["ASIDs handed out"] >= 2, before
    assert before["ASID flushes"] == 0, before  # QEMU TCG has no flush-by-ASID
    out = m.run("virt shuffle demo 1000", timeout=60)
    moves = int(re.search(r"(\d+) vCPU moves asked for", out).group(1))
    assert moves > 10, out
    after = counters(m)
    # Every entry on a new CPU takes a fresh ASID there (the halted demo vCPU enters a few
    # times a second, so not every move is seen at an entry).
    assert after["vCPU migrations"] > before["vCPU migrations"], (before, after)
    assert after["ASIDs handed out"] - before["ASIDs handed out"] >= \
        after["vCPU migrations"] - before["vCPU migrations"], (before, after)
    assert after["entries"] > before["entries"], (before, after)
    for name in ("demo", "other"):
        assert vm_state(m, name) == "running", m.run("vms")


def test_svm_refused_entry_ends_only_that_vm(demo_vms):
    m = demo_vms
    out = m.run("virt corrupt demo 0")
    assert "vcpu 0: its next VM entry will fail on purpose" in out, out
    deadline = time.time() + 30
    while vm_state(m, "demo") != "crashed":
        assert time.time() < deadline, m.run("vms")
        time.sleep(0.5)
    out = m.run("vms")
    assert "vcpu 0: VM entry refused the guest state: guest EFER.SVME is clear" in out, out
    assert vm_state(m, "other") == "running", m.run("vms")
    assert m.run("version").startswith("hv ")
