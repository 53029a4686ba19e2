# Shadow paging (hv/mmu/shadow*.c) under QEMU/SVM: every test guest as a shadow-paged VM,
# the paging guests (permissions, one page at thousands of addresses, 16 address spaces),
# the root cache against its absence, a tiny page budget, audits, `mmu` output, the
# automatic choice on a CPU without NPT, reset of a shadow-paged VM.
import re
import shutil
import subprocess

import pytest

from conftest import BUILD, ROOT, CMD_TIMEOUT, PROMPT
from test_guests import (assert_passed, console_text, parse_vms, result_lines, wait_vms_end,
                         write_config, GUEST_DIR)

VM_TIMEOUT = 900
# Warnings and errors only on the console: "vm X: stopped" lines would otherwise land in
# the middle of shell prompts while VMs end.
QUIET = "console=com1 loglevel=4"
# SMEP and SMAP offered, so pgperm checks their combinations too.
SHADOW_CPU = "qemu64,+svm,+npt,+smep,+smap"
SHADOW = ["mmu = shadow"]

# name, guest, config lines: every earlier guest, the paging guests, variants.
VMS = [
    ("hello", "hello", SHADOW + ["cmdline = hv first second"]),
    ("cpuid", "cpuid", SHADOW + ["cmdline = hv cpus=1 count=100"]),
    ("pio", "pio", SHADOW + ["cmdline = hv", "testdev = yes"]),
    ("mmio", "mmio", SHADOW + ["cmdline = hv", "testdev = yes"]),
    # Its TSC-deadline disarm check allows only ~5M TSC cycles between two WRMSRs: a CPU
    # of its own (the others keep off it), so preemption under load cannot fail it.
    ("timer", "timer", SHADOW + ["cmdline = hv", "cpus = 3"]),
    ("paging", "paging", SHADOW + ["cmdline = hv", "memory = 16M"]),
    ("badmem", "badmem", SHADOW + ["cmdline = hv", "memory = 8M"]),
    ("smp", "smp", SHADOW + ["cmdline = hv cpus=4", "vcpus = 4"]),
    ("tf", "triplefault", SHADOW),
    ("spin", "spin", SHADOW),
    ("pgperm", "pgperm", SHADOW + ["cmdline = hv sdm_rsvd"]),
    ("pgalias", "pgalias", SHADOW + ["cmdline = hv"]),
    ("sw", "pgswitch", SHADOW + ["cmdline = hv"]),
    ("swoff", "pgswitch", SHADOW + ["cmdline = hv", "shadow_cache = no"]),
    ("swtiny", "pgswitch", SHADOW + ["cmdline = hv rounds=16", "shadow_pages = 16"]),
    ("nested", "hello", ["mmu = nested", "cmdline = hv"]),
]
VMS = [(n, g, lines if n == "timer" else lines + ["cpus = 0-2"]) for n, g, lines in VMS]
ENDING = [v[0] for v in VMS if v[0] != "spin"]
PASSING = [v[0] for v in VMS if v[0] not in ("tf", "spin")]


@pytest.fixture(scope="module")
def guest_elfs():
    subprocess.run(["make", "-C", ROOT, f"BUILD={BUILD}", "guests"], check=True,
                   capture_output=True, timeout=600)
    return lambda g: f"{GUEST_DIR}/{g}.elf"


def wait_or_explain(m, names, timeout):
    """wait_vms_end, and on a timeout the stuck VMs' registers, exits, MMU and console."""
    try:
        return wait_vms_end(m, names, timeout)
    except pytest.fail.Exception as e:
        rows = parse_vms(m.run("vms"))
        stuck = [n for n in names if rows.get(n, ("?",))[0] not in ("stopped", "crashed")]
        info = []
        for n in stuck:
            info += [m.run(f"regs {n} 0"), m.run(f"exits {n}"), m.run(f"mmu {n}"),
                     console_text(m, n)[-3000:]]
        pytest.fail(f"{e}\n" + "\n".join(info))


def mmu_stats(m, vm):
    """`mmu <vm>` -> {label: first number}."""
    out = m.run(f"mmu {vm}")
    stats = {}
    for line in out.splitlines():
        mo = re.match(r"^(\w+):\s+(\d+)", line)
        if mo:
            stats[mo.group(1)] = int(mo.group(2))
    mo = re.search(r"^pages:\s+(\d+) in use, budget (\d+), peak (\d+)", out, re.M)
    if mo:
        stats["in_use"], stats["budget"], stats["peak"] = map(int, mo.groups())
    stats["_text"] = out
    return stats


@pytest.fixture(scope="module")
def shadow_boot(guest_elfs, tmp_path_factory):
    from conftest import start_machine
    wd = tmp_path_factory.mktemp("hv-shadow")
    conf = str(wd / "vms.conf")
    write_config(conf, VMS)
    modules = [conf] + sorted({guest_elfs(g) for _, g, _ in VMS})
    made = []
    (wd / "m").mkdir()
    try:
        m = start_machine("hv-shadow", str(wd / "m"), smp=4, mem="1G", cpu=SHADOW_CPU,
                          cmdline=QUIET, modules=modules, on_create=made.append)
        yield m, wait_or_explain(m, ENDING, VM_TIMEOUT)
    finally:
        for m in made:
            m.kill()


@pytest.fixture
def sb(request, shadow_boot):
    m, rows = shadow_boot
    if not hasattr(request.node, "hv_machines"):
        request.node.hv_machines = []
    request.node.hv_machines.append(m)
    m.reset_line()
    return m, rows


@pytest.mark.parametrize("name", PASSING)
def test_guest_passes_with_shadow_paging(sb, name):
    m, rows = sb
    text = console_text(m, name)
    assert_passed(name, text)
    assert not [r for r in result_lines(text) if r[0] == "SKIP"], f"{name}: skipped:\n{text}"
    state, _, reason = rows[name]
    assert state == "stopped" and re.search(r"status 1\b", reason), rows[name]


@pytest.mark.parametrize("name", [v[0] for v in VMS if v[0] != "nested"])
def test_vm_uses_shadow_paging_and_audits_clean(sb, name):
    m, _ = sb
    st = mmu_stats(m, name)
    assert "shadow paging" in st["_text"], st["_text"]
    out = m.run(f"mmu audit {name}", timeout=60)
    assert "audit: clean" in out, out
    assert st["in_use"] <= st["budget"], st["_text"]


def test_triplefault_still_crashes_only_its_vm(sb):
    _, rows = sb
    assert rows["tf"][0] == "crashed" and "triple fault" in rows["tf"][2], rows["tf"]


def test_pgperm_checked_every_mode_with_smep_smap(sb):
    m, _ = sb
    text = console_text(m, "pgperm")
    for mode in ("32-bit", "PAE", "4-level"):
        assert f"PASS: pgperm {mode} CR0.WP=1 SMEP=1 SMAP=1 AC=1:" in text, text
        assert f"PASS: pgperm {mode}: not-present and reserved-bit faults" in text, text
    st = mmu_stats(m, "pgperm")
    assert st["guest_faults"] > 1000 and st["wp_emulations"] > 100, st["_text"]


def test_pgalias_reverse_map_holds_thousands(sb):
    m, _ = sb
    st = mmu_stats(m, "pgalias")
    assert st["rmap_longest"] >= 4096, st["_text"]


def switch_figures(m, vm):
    text = console_text(m, vm)
    mo = re.search(r"^pgswitch: switches (\d+) tsc_per_switch (\d+)$", text, re.M)
    assert mo, text
    st = mmu_stats(m, vm)
    return int(mo.group(1)), st


def test_root_cache_cuts_shadow_faults_per_switch(sb):
    m, _ = sb
    n_on, on = switch_figures(m, "sw")
    n_off, off = switch_figures(m, "swoff")
    assert n_on == n_off == 4096
    fills_on, fills_off = on["shadow_fills"] / n_on, off["shadow_fills"] / n_off
    hit_on = on["root_hits"] / (on["root_hits"] + on["root_misses"])
    hit_off = off["root_hits"] / (off["root_hits"] + off["root_misses"])
    assert hit_on >= 0.95 and hit_off <= 0.05, (on["_text"], off["_text"])
    assert fills_off >= 10 * fills_on, (fills_on, fills_off)
    assert on["cr3_loads"] >= n_on and off["zaps"] > n_off, (on["_text"], off["_text"])


def test_tiny_budget_reclaims_and_stays_correct(sb):
    m, _ = sb
    _, st = switch_figures(m, "swtiny")
    assert st["budget"] == 16 and st["peak"] <= 16 + 4, st["_text"]
    assert st["reclaims"] > 50, st["_text"]


def test_nested_vm_has_no_shadow_mmu(sb):
    m, rows = sb
    assert re.search(r"status 1\b", rows["nested"][2]), rows["nested"]
    assert "nested paging (SVM)" in m.run("mmu nested")


def test_audit_of_a_running_vm_and_budget_and_cache_commands(sb):
    m, _ = sb
    assert parse_vms(m.run("vms"))["spin"][0] == "running"
    assert "audit: clean" in m.run("mmu audit spin", timeout=60)
    assert "budget 64" in m.run("mmu budget spin 64")
    assert mmu_stats(m, "spin")["budget"] == 64
    assert "root cache off" in m.run("mmu cache spin off")
    assert "root cache off" in m.run("mmu spin")
    assert "pages must be" in m.run("mmu budget spin 3")
    assert "no VM named" in m.run("mmu nosuchvm")
    out = m.run("vm destroy spin", timeout=60)
    assert "destroyed" in out, out


def test_reset_of_a_shadow_vm_runs_it_again(sb):
    m, _ = sb
    out = m.run("vm reset pgalias", timeout=60)
    assert "error" not in out.lower(), out
    m.run("vm start pgalias", timeout=60)
    rows = wait_vms_end(m, ["pgalias"], 300)
    assert re.search(r"status 1\b", rows["pgalias"][2]), rows["pgalias"]
    assert "audit: clean" in m.run("mmu audit pgalias", timeout=60)


# ---- several vCPUs paging at once ----------------------------------------------------------

def test_pgsmp_concurrent_paging_with_shadow(boot, guest_elfs, tmp_path):
    conf = str(tmp_path / "vms.conf")
    vms = [("smpa", "pgsmp", SHADOW + ["cmdline = hv cpus=4", "vcpus = 4"]),
           ("smpb", "pgsmp", SHADOW + ["cmdline = hv cpus=4 rounds=60", "vcpus = 4",
                                       "shadow_pages = 24"]),
           ("rm", "realmode", SHADOW + ["cmdline = hv"])]  # real mode and back: paged real mode
    write_config(conf, vms)
    m = boot(cpu="qemu64,+svm,+npt", smp=4, mem="512M", cmdline=QUIET,
             modules=[conf, guest_elfs("pgsmp"), guest_elfs("realmode")])
    rows = wait_or_explain(m, [v[0] for v in vms], VM_TIMEOUT)
    for name, guest, _ in vms:
        assert re.search(r"status 1\b", rows[name][2]), (name, rows[name])
        text = console_text(m, name)
        assert_passed(name, text)
        if guest == "pgsmp":
            assert "pgsmp: 4 of 4 CPUs finished" in text, text
        assert "audit: clean" in m.run(f"mmu audit {name}", timeout=60)
    a, b = mmu_stats(m, "smpa"), mmu_stats(m, "smpb")
    assert a["root_hits"] > 10 * a["root_misses"], a["_text"]
    assert b["reclaims"] > 100 and b["remote_flushes"] > 10, b["_text"]


# ---- a CPU without nested paging: shadow is chosen by itself ----------------------------

def test_auto_picks_shadow_without_npt(boot, guest_elfs, tmp_path):
    conf = str(tmp_path / "vms.conf")
    write_config(conf, [("auto", "paging", ["cmdline = hv", "memory = 16M"]),
                        ("forced", "hello", ["mmu = nested", "cmdline = hv"])])
    m = boot(cpu="qemu64,+svm,-npt", smp=2, mem="256M", cmdline=QUIET,
             modules=[conf, guest_elfs("paging"), guest_elfs("hello")])
    assert re.search(r"mmu = nested, but the CPU has no nested paging", m.boot_output), \
        m.boot_output
    rows = wait_vms_end(m, ["auto"], 300)
    assert re.search(r"status 1\b", rows["auto"][2]), rows
    assert "forced" not in rows, rows
    assert "shadow paging" in m.run("mmu auto")
    assert_passed("auto", console_text(m, "auto"))


# ---- Bochs: VMX with EPT off ---------------------------------------------------------------

BOCHS_VMS = [
    ("hello", "hello", SHADOW + ["cmdline = hv first second"]),
    ("cpuid", "cpuid", SHADOW + ["cmdline = hv cpus=1 count=100"]),
    ("pio", "pio", SHADOW + ["cmdline = hv", "testdev = yes"]),
    ("timer", "timer", SHADOW + ["cmdline = hv"]),
    ("paging", "paging", SHADOW + ["cmdline = hv", "memory = 16M"]),
    ("badmem", "badmem", SHADOW + ["cmdline = hv", "memory = 8M"]),
    ("pgperm", "pgperm", SHADOW + ["cmdline = hv sdm_rsvd"]),
    ("pgalias", "pgalias", SHADOW + ["cmdline = hv"]),
    ("sw", "pgswitch", SHADOW + ["cmdline = hv rounds=16"]),
    ("tf", "triplefault", SHADOW),
    ("smp", "smp", SHADOW + ["cmdline = hv cpus=2", "vcpus = 2"]),
    ("rm", "realmode", SHADOW + ["cmdline = hv"]),
    ("nested", "hello", ["mmu = nested", "cmdline = hv"]),
]
BOCHS_PASSING = ("hello", "cpuid", "pio", "timer", "paging", "badmem", "pgperm", "pgalias", "sw")


@pytest.mark.bochs
@pytest.mark.skipif(shutil.which("bochs") is None, reason="bochs not installed")
def test_shadow_paging_on_vmx_without_ept(boot, guest_elfs, tmp_path):
    conf = str(tmp_path / "vms.conf")
    write_config(conf, BOCHS_VMS)
    m = boot(emulator="bochs", smp=2, mem="512M", cmdline=QUIET,
             modules=[conf] + sorted({guest_elfs(g) for _, g, _ in BOCHS_VMS}))
    rows = wait_or_explain(m, [v[0] for v in BOCHS_VMS], VM_TIMEOUT)
    for name in BOCHS_PASSING + ("nested",):
        assert re.search(r"status 1\b", rows[name][2]), (name, rows[name])
        assert_passed(name, console_text(m, name))
    for name in BOCHS_PASSING:
        assert "shadow paging" in m.run(f"mmu {name}")
        assert "audit: clean" in m.run(f"mmu audit {name}", timeout=120)
    assert rows["tf"][0] == "crashed" and "triple fault" in rows["tf"][2], rows["tf"]
    # Real mode needs unrestricted guest, which VMX has only with EPT: the SMP guest's APs
    # cannot start, the realmode guest stops where it turns protection off.
    for name in ("smp", "rm"):
        state, _, reason = rows[name]
        assert state == "crashed" and "real mode" in reason, rows[name]
    assert "nested paging (VMX)" in m.run("mmu nested")
