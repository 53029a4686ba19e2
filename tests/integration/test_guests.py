# Test guests (tests/guests): under plain QEMU -kernel (no hypervisor), and as VMs of the
# hypervisor booted from a configuration module: many VMs at once, more vCPUs than CPUs.
import os
import re
import subprocess
import time

import pytest

from conftest import BUILD, QEMU, ROOT, PROMPT, CMD_TIMEOUT, normalize

GUEST_DIR = os.path.join(BUILD, "guests")
ALL_GUESTS = ("hello", "cpuid", "pio", "mmio", "timer", "paging", "badmem", "triplefault",
              "spin", "smp")
PLAIN_TIMEOUT = 120
VM_TIMEOUT = 300       # all test VMs of one boot must end within this
CPUID_COUNT = 5000


@pytest.fixture(scope="module")
def guests():
    """Build the guests (quick when up to date); returns name -> ELF path."""
    subprocess.run(["make", "-C", ROOT, f"BUILD={BUILD}", "guests"], check=True,
                   capture_output=True, timeout=600)
    return {g: os.path.join(GUEST_DIR, f"{g}.elf") for g in ALL_GUESTS}


def result_lines(text):
    return re.findall(r"^(PASS|FAIL|SKIP): (.*)$", text, re.M)


def assert_passed(name, text):
    fails = [r for r in result_lines(text) if r[0] == "FAIL"]
    assert not fails, f"{name}: failed checks:\n" + "\n".join(f[1] for f in fails) + \
        "\n--- output:\n" + text
    assert re.search(r"^RESULT: PASS$", text, re.M), f"{name}: no RESULT: PASS\n{text}"


# ---- plain QEMU: the guests are ordinary Multiboot kernels -------------------------------

def run_plain(path, append="", smp=1, timeout=PLAIN_TIMEOUT):
    args = ["timeout", "-s", "KILL", str(timeout), QEMU, "-machine", "pc", "-m", "64",
            "-smp", str(smp), "-accel", "tcg,thread=multi", "-display", "none", "-no-reboot",
            "-monitor", "none", "-parallel", "none",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-serial", "stdio", "-kernel", path, "-append", append]
    p = subprocess.run(args, capture_output=True, text=True, errors="replace",
                       timeout=timeout + 30)
    return p.returncode, normalize(p.stdout)


@pytest.mark.parametrize("name,append,smp", [
    ("hello", "first second", 1), ("cpuid", "count=10", 1), ("pio", "", 1), ("mmio", "", 1),
    ("timer", "", 1), ("paging", "", 1), ("badmem", "", 1), ("smp", "cpus=4", 4)])
def test_guest_under_plain_qemu(guests, name, append, smp):
    status, out = run_plain(guests[name], append, smp)
    assert_passed(name, out)
    assert status == 1, f"{name}: QEMU exit status {status} (want 1: debug-exit 0)\n{out}"


def test_plain_hello_sees_its_command_line(guests):
    _, out = run_plain(guests["hello"], "first second")
    assert 'hello: command line "first second"' in out, out
    # The loader puts the image name first (QEMU: the path given to -kernel).
    assert re.search(r'full command line "\S*hello\.elf first second"', out), out


def test_plain_triplefault_resets(guests):
    status, out = run_plain(guests["triplefault"], timeout=60)
    assert "triplefault: loading an empty IDT" in out, out
    assert "RESULT" not in out and "still running" not in out, out
    assert status == 0, f"QEMU -no-reboot should end on the triple fault: status {status}"


def test_plain_spin_never_ends(guests):
    status, out = run_plain(guests["spin"], timeout=5)
    assert "spin: spinning forever" in out, out
    assert "RESULT" not in out, out
    assert status in (-9, 137), f"spin ended by itself (status {status})"


# ---- under the hypervisor --------------------------------------------------------------

# name, guest, extra config lines. cmdline "hv" turns on the hypervisor-specific checks.
VMS = [
    ("hello", "hello", ["cmdline = hv first second"]),
    ("cpuid", "cpuid", [f"cmdline = hv cpus=1 count={CPUID_COUNT}"]),
    ("pio", "pio", ["cmdline = hv", "testdev = yes"]),
    ("mmio", "mmio", ["cmdline = hv", "testdev = yes"]),
    ("timer", "timer", ["cmdline = hv"]),
    ("paging", "paging", ["cmdline = hv", "memory = 16M"]),
    ("badmem", "badmem", ["cmdline = hv", "memory = 8M"]),
    ("smp", "smp", ["cmdline = hv cpus=4", "vcpus = 4"]),
    ("tf", "triplefault", []),
    ("spin", "spin", []),
]
ENDING = [v[0] for v in VMS if v[0] != "spin"]


def write_config(path, vms):
    with open(path, "w", encoding="utf-8") as f:
        f.write("# test guests, one VM each (tests/integration/test_guests.py)\n")
        for name, guest, extra in vms:
            f.write(f"\n[vm {name}]\nkernel = {guest}.elf\nautostart = yes\n")
            f.write("".join(line + "\n" for line in extra))


def parse_vms(out):
    """'vms' output -> {name: (state, vcpus, reason)}."""
    rows = {}
    for line in out.splitlines():
        m = re.match(r"^(\d+)\s+(\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s+[\d.]+\s*(.*)$", line)
        if m:
            rows[m.group(2)] = (m.group(3), int(m.group(4)), m.group(6).strip())
    return rows


def wait_vms_end(m, names, timeout):
    deadline = time.time() + timeout
    while True:
        rows = parse_vms(m.run("vms"))
        waiting = [n for n in names if rows.get(n, ("?",))[0] not in ("stopped", "crashed")]
        if not waiting:
            return rows
        if time.time() > deadline:
            pytest.fail(f"VMs still not ended after {timeout} s: {waiting}\n{rows}")
        time.sleep(2)


def console_text(m, name):
    """A VM's console output so far (attach, then detach with Ctrl-])."""
    m.send(f"console {name}\r")
    m.expect_exact(f"[attached to '{name}'", CMD_TIMEOUT, f"console {name}")
    text = normalize(m.child.before)
    m.send("\x1d")
    m.expect_exact(f"[detached from '{name}']", CMD_TIMEOUT, "console detach")
    m.expect_exact(PROMPT, CMD_TIMEOUT, "prompt after console")
    # Drop the echoed command line.
    return text.split("\n", 1)[1] if "\n" in text else text


def exit_count(m, vm, reason):
    for line in m.run(f"exits {vm}").splitlines():
        f = line.split()
        if len(f) >= 2 and f[0] == reason:
            return int(f[1])
    return 0


@pytest.fixture(scope="module")
def hv_guests(guests, tmp_path_factory):
    """One hypervisor boot running every test guest as a VM (10 VMs, 13 vCPUs on 4 CPUs)."""
    from conftest import start_machine
    wd = tmp_path_factory.mktemp("hv-guests")
    conf = str(wd / "vms.conf")
    write_config(conf, VMS)
    modules = [conf] + sorted({guests[g] for _, g, _ in VMS})
    made = []
    (wd / "m").mkdir()
    try:
        m = start_machine("hv-guests", str(wd / "m"), smp=4, mem="768M", modules=modules,
                          on_create=made.append)
        yield m, wait_vms_end(m, ENDING, VM_TIMEOUT)
    finally:
        for m in made:
            m.kill()


@pytest.fixture
def hvg(request, hv_guests):
    m, rows = hv_guests
    if not hasattr(request.node, "hv_machines"):
        request.node.hv_machines = []
    request.node.hv_machines.append(m)
    m.reset_line()
    return m, rows


def test_many_vms_more_vcpus_than_cpus(hvg):
    _, rows = hvg
    assert len(rows) >= 6, rows
    assert sum(r[1] for r in rows.values()) > 4, rows
    assert rows["smp"][1] == 4, rows


@pytest.mark.parametrize("name", [v[0] for v in VMS if v[0] not in ("tf", "spin")])
def test_guest_passes_under_hv(hvg, name):
    m, rows = hvg
    text = console_text(m, name)
    assert_passed(name, text)
    assert not [r for r in result_lines(text) if r[0] == "SKIP"], \
        f"{name}: checks skipped under hv:\n{text}"
    state, _, reason = rows[name]
    assert state == "stopped", f"{name}: state {state} ({reason})"
    assert re.search(r"status 1\b", reason), f"{name}: ended with '{reason}', want status 1"


def test_hello_boot_information_under_hv(hvg):
    m, _ = hvg
    text = console_text(m, "hello")
    assert 'hello: command line "hv first second"' in text, text
    assert 'full command line "hello.elf hv first second"' in text, text
    # 32 MiB VM: RAM below 640 KiB, the legacy hole reserved, RAM from 1 MiB to 32 MiB.
    assert "mem_lower 640 KiB, mem_upper 31744 KiB" in text, text
    assert "mmap: 0x0000000000-0x000009ffff type 1" in text, text
    assert "mmap: 0x00000a0000-0x00000fffff type 2" in text, text
    assert "mmap: 0x0000100000-0x0001ffffff type 1" in text, text


def test_cpuid_exit_count_matches(hvg):
    m, _ = hvg
    text = console_text(m, "cpuid")
    mo = re.search(r"^cpuid: executed (\d+) CPUID instructions in total$", text, re.M)
    assert mo, text
    assert int(mo.group(1)) > CPUID_COUNT
    assert exit_count(m, "cpuid", "cpuid") == int(mo.group(1)), m.run("exits cpuid")


def test_triplefault_crashes_only_its_vm(hvg):
    m, rows = hvg
    state, _, reason = rows["tf"]
    assert state == "crashed", rows["tf"]
    assert "triple fault" in reason, reason
    assert "loading an empty IDT" in console_text(m, "tf")
    # The others ended normally (checked per guest) and the host answers.
    assert m.run("version").startswith("hv ")


def test_spin_is_preempted_and_destroyable(hvg):
    m, _ = hvg
    rows = parse_vms(m.run("vms"))
    assert rows["spin"][0] == "running", rows
    assert "spinning forever" in console_text(m, "spin")
    # It keeps a vCPU busy with interrupts off, yet the shell answers at once.
    t0 = time.time()
    assert m.run("version").startswith("hv ")
    assert time.time() - t0 < 5
    out = m.run("vm destroy spin", timeout=60)
    assert "destroyed" in out, out
    assert "spin" not in parse_vms(m.run("vms"))
