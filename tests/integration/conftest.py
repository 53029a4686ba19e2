# Integration harness: boot the GRUB ISO in QEMU or Bochs and talk to the serial shell.
#
# Fixtures:
#   boot      factory: boot(emulator="qemu", smp=4, mem="256M", cmdline=...) -> Machine
#             at the "hv> " prompt; every machine is killed at the end of the test.
#   shell     a QEMU machine (-smp 4, 256 MiB) shared by a test module, brought back
#             to a fresh prompt before each test.
# Machine.run(cmd) sends one command line and returns its output (echo and prompt
# removed, line ends as "\n"). On failure the serial log (and bochs.log) is attached
# to the test report.
import hashlib
import os
import re
import shutil
import signal
import subprocess
import termios
import tty

import pexpect
import pexpect.fdpexpect
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.abspath(os.environ.get("HV_BUILD", os.path.join(ROOT, "build")))
HV_ELF = os.path.join(BUILD, "hv.elf")
WORK = os.path.join(BUILD, "itest")

PROMPT = "hv> "
DEFAULT_CMDLINE = "console=com1 loglevel=6"
QEMU = os.environ.get("QEMU", "qemu-system-x86_64")
QEMU_CPU = "qemu64,+svm,+npt"
BOCHS_BIOS = "/usr/share/bochs/BIOS-bochs-latest"
BOCHS_VGABIOS = "/usr/share/seabios/vgabios-isavga.bin"

# Generous but bounded: TCG boots in about a second, Bochs in tens of seconds.
QEMU_BOOT_TIMEOUT = 90
BOCHS_BOOT_TIMEOUT = 300
CMD_TIMEOUT = 30
# Hard ceiling on any emulator process, even if this harness dies.
EMULATOR_MAX_SECONDS = 1800


def source_text(relpath):
    with open(os.path.join(ROOT, relpath), encoding="utf-8") as f:
        return f.read()


def registered_commands():
    """Every shell command name declared with SHELL_COMMAND(...) in the sources."""
    names = set()
    for top in ("lib", "arch", "mm", "kernel", "drivers", "hv", "mgmt"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for fn in files:
                if not fn.endswith(".c"):
                    continue
                with open(os.path.join(dirpath, fn), encoding="utf-8", errors="replace") as f:
                    text = f.read()
                names.update(re.findall(r'\bSHELL_COMMAND\(\s*\w+\s*,\s*"([^"]+)"', text))
    return names


def elf_defines(symbol):
    """True when the built image defines `symbol` (used to tell whether a subsystem exists yet)."""
    out = subprocess.run(["nm", "--defined-only", HV_ELF], capture_output=True, text=True,
                         check=True).stdout
    return re.search(r"^\S+ [TtDdRrBb] %s$" % re.escape(symbol), out, re.M) is not None


def _file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_iso(cmdline=DEFAULT_CMDLINE, modules=(), loader="multiboot2"):
    """A GRUB ISO booting hv.elf with this command line and module files (cached per build).

    loader: GRUB's "multiboot2" (the default) or "multiboot" (version 1)."""
    if not os.path.exists(HV_ELF):
        pytest.fail(f"{HV_ELF} does not exist: run 'make' first")
    key = hashlib.sha256()
    key.update(_file_digest(HV_ELF).encode())
    key.update(cmdline.encode())
    key.update(loader.encode())
    for m in modules:
        key.update(m.encode() + _file_digest(m).encode())
    os.makedirs(WORK, exist_ok=True)
    iso = os.path.join(WORK, f"hv-{key.hexdigest()[:16]}.iso")
    if os.path.exists(iso):
        return iso
    cfg = os.path.join(WORK, f"grub-{key.hexdigest()[:16]}.cfg")
    lines = ["set timeout=0", "set default=0", 'menuentry "hv" {',
             f"\t{loader} /boot/hv.elf {cmdline}"]
    module_cmd = "module2" if loader == "multiboot2" else "module"
    lines += [f"\t{module_cmd} /boot/{os.path.basename(m)} {os.path.basename(m)}" for m in modules]
    lines += ["\tboot", "}"]
    with open(cfg, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    tmp = iso + ".tmp"
    subprocess.run([os.path.join(ROOT, "scripts", "mkiso.sh"), tmp, cfg, HV_ELF, *modules],
                   check=True, timeout=120)
    os.replace(tmp, iso)
    return iso


def normalize(text):
    """Serial text as plain lines: CR LF and lone CRs removed, '\\n' line ends."""
    return text.replace("\r\n", "\n").replace("\r", "")


class Machine:
    """One emulator run with a pexpect handle on its serial port."""

    def __init__(self, name, emulator, workdir):
        self.name = name
        self.emulator = emulator
        self.workdir = workdir
        self.serial_log_path = os.path.join(workdir, "serial.log")
        self.bochs_log_path = os.path.join(workdir, "bochs.log") if emulator == "bochs" else None
        self.child = None      # pexpect spawn (QEMU) or fdspawn (Bochs)
        self.proc = None       # subprocess.Popen (Bochs)
        self.pty_master = None
        self._log = None
        self.boot_output = ""
        self.exitstatus = None

    # -- start-up --------------------------------------------------------------
    def start_qemu(self, iso, smp, mem, cpu, extra):
        # No NIC unless a test asks for one (QEMU's default e1000 would start the
        # management network, whose log lines would interleave with command output).
        if not any(a in ("-netdev", "-nic", "-net") for a in extra):
            extra = ["-nic", "none", *extra]
        args = ["-s", "KILL", str(EMULATOR_MAX_SECONDS), QEMU,
                "-machine", "pc", "-cpu", cpu, "-smp", str(smp), "-m", mem,
                "-accel", "tcg,thread=multi", "-display", "none", "-no-reboot",
                "-monitor", "none", "-parallel", "none",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                "-cdrom", iso,
                "-chardev", "stdio,id=ser0,signal=off", "-serial", "chardev:ser0", *extra]
        self.command = "timeout " + " ".join(args)
        self._log = open(self.serial_log_path, "w", encoding="utf-8", errors="replace",
                         newline="")
        self.child = pexpect.spawn("timeout", args, encoding="utf-8", codec_errors="replace",
                                   echo=False, timeout=CMD_TIMEOUT)
        self.child.logfile_read = self._log

    def start_bochs(self, iso, smp, mem_mib, cpu_model, extra_lines=()):
        master, slave = os.openpty()
        tty.setraw(slave)
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        self.pty_master = master
        self._pty_slave = slave
        slave_path = os.ttyname(slave)
        rc = os.path.join(self.workdir, "bochsrc")
        with open(rc, "w", encoding="utf-8") as f:
            f.write("\n".join([
                f"megs: {mem_mib}",
                f"romimage: file={BOCHS_BIOS}",
                f"vgaromimage: file={BOCHS_VGABIOS}",
                "display_library: sdl2",
                f"cpu: model={cpu_model}, count={smp}, ips=50000000, quantum=16, "
                "reset_on_triple_fault=0",
                f"ata0-master: type=cdrom, path={iso}, status=inserted",
                "boot: cdrom",
                f"com1: enabled=1, mode=term, dev={slave_path}",
                "port_e9_hack: enabled=1",
                "magic_break: enabled=1",
                "sound: driver=dummy",
                "speaker: enabled=0",
                f"log: {self.bochs_log_path}",
                "panic: action=fatal",
                "error: action=report",
                "info: action=report",
                "clock: sync=none, time0=local",
                *extra_lines,
            ]) + "\n")
        cmds = os.path.join(self.workdir, "bochs.rc")
        with open(cmds, "w", encoding="utf-8") as f:
            f.write("c\nquit\n")
        env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
        self.command = f"bochs -q -f {rc} -rc {cmds}"
        self._bochs_out = open(os.path.join(self.workdir, "bochs.stdout"), "w")
        self.proc = subprocess.Popen(
            ["timeout", "-s", "KILL", str(EMULATOR_MAX_SECONDS), "bochs", "-q", "-f", rc,
             "-rc", cmds], stdin=subprocess.DEVNULL, stdout=self._bochs_out,
            stderr=subprocess.STDOUT, cwd=self.workdir, env=env, start_new_session=True)
        self._log = open(self.serial_log_path, "w", encoding="utf-8", errors="replace",
                         newline="")
        self.child = pexpect.fdpexpect.fdspawn(master, encoding="utf-8", codec_errors="replace",
                                               timeout=CMD_TIMEOUT)
        self.child.logfile_read = self._log

    def wait_prompt(self, timeout):
        """Wait for the first prompt; fail with a clear reason on exit or timeout."""
        self.expect_exact(PROMPT, timeout, "the first shell prompt")
        self.boot_output = normalize(self.child.before)

    # -- talking to the shell -------------------------------------------------
    def expect_exact(self, what, timeout, doing):
        """expect_exact that fails the test with a short reason on EOF or timeout."""
        try:
            return self.child.expect_exact(what, timeout=timeout)
        except pexpect.EOF:
            problem = "eof"
        except pexpect.TIMEOUT:
            problem = "timeout"
        if problem == "eof":
            self._reap()
            pytest.fail(f"{self.name}: emulator exited (status {self.exitstatus}) "
                        f"while waiting for {doing}", pytrace=False)
        pytest.fail(f"{self.name}: no {doing} within {timeout} s", pytrace=False)
        return None

    def send(self, text):
        self.child.send(text)

    def run(self, cmd, timeout=CMD_TIMEOUT):
        """Send a command line, return its output up to the next prompt."""
        self.send(cmd + "\r")
        self.expect_exact("\n" + PROMPT, timeout, f"prompt after {cmd!r}")
        out = normalize(self.child.before)
        # The first line is the editor's echo of what we typed; the output's own
        # last line break was taken as part of "\n" + PROMPT.
        return out.split("\n", 1)[1] + "\n" if "\n" in out else ""

    def reset_line(self):
        """Abandon whatever is on the line (Ctrl-C) and wait for a fresh prompt."""
        self.send("\x03")
        self.expect_exact("^C", CMD_TIMEOUT, "the ^C echo")
        self.expect_exact(PROMPT, CMD_TIMEOUT, "the prompt after ^C")

    def wait_exit(self, timeout):
        """Wait for the emulator to end by itself; returns its exit status."""
        if self.proc is not None:
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pytest.fail(f"{self.name}: emulator still running after {timeout} s")
            self.exitstatus = self.proc.returncode
            return self.exitstatus
        self.expect_exact(pexpect.EOF, timeout, "the emulator to exit")
        self._reap()
        return self.exitstatus

    def _reap(self):
        if self.proc is not None:
            if self.proc.poll() is not None:
                self.exitstatus = self.proc.returncode
            return
        if self.child is not None and self.exitstatus is None:
            try:
                self.child.wait()
            except pexpect.ExceptionPexpect:
                pass
            self.exitstatus = self.child.exitstatus if self.child.exitstatus is not None \
                else -(self.child.signalstatus or 0)

    @property
    def alive(self):
        if self.proc is not None:
            return self.proc.poll() is None
        return self.child is not None and self.child.isalive()

    # -- teardown and reports ------------------------------------------------
    def kill(self):
        """Kill the emulator (its whole process group) and close files. Idempotent."""
        if self.proc is not None:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
            self._bochs_out.close()
        elif self.child is not None and self.child.isalive():
            try:
                os.killpg(self.child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.child is not None:
            try:
                if self.proc is not None:
                    self.child.close()  # fdspawn: closes the pty master
                else:
                    self.child.close(force=True)
            except (pexpect.ExceptionPexpect, OSError):
                pass
            self.child = None
            self.pty_master = None
        if getattr(self, "_pty_slave", None) is not None:
            os.close(self._pty_slave)
            self._pty_slave = None
        if self._log and not self._log.closed:
            self._log.close()

    def serial_text(self):
        if self._log and not self._log.closed:
            self._log.flush()
        try:
            with open(self.serial_log_path, encoding="utf-8", errors="replace", newline="") as f:
                return normalize(f.read())
        except OSError:
            return "(no serial log)"

    def report_sections(self):
        tail = lambda s, n=20000: s if len(s) <= n else "...\n" + s[-n:]
        secs = [(f"{self.name}: command", self.command),
                (f"{self.name}: serial log", tail(self.serial_text()))]
        if self.bochs_log_path:
            try:
                with open(self.bochs_log_path, encoding="utf-8", errors="replace") as f:
                    secs.append((f"{self.name}: bochs.log", tail(f.read())))
            except OSError:
                secs.append((f"{self.name}: bochs.log", "(none)"))
        return secs


def start_machine(name, workdir, emulator="qemu", smp=4, mem="256M", cpu=QEMU_CPU,
                  cmdline=DEFAULT_CMDLINE, modules=(), extra=(), wait=True,
                  bochs_cpu="corei7_skylake_x", on_create=None, loader="multiboot2",
                  bochs_extra=()):
    """Build the ISO, start the emulator and (if wait) wait for the first prompt.

    extra: more QEMU arguments; bochs_extra: more bochsrc lines (e.g. a NIC)."""
    iso = build_iso(cmdline, modules, loader)
    m = Machine(name, emulator, workdir)
    if on_create:
        on_create(m)
    if emulator == "qemu":
        m.start_qemu(iso, smp, mem, cpu, list(extra))
        timeout = QEMU_BOOT_TIMEOUT
    elif emulator == "bochs":
        mem_mib = int(mem[:-1]) * (1024 if mem.endswith("G") else 1) if mem[-1] in "MG" \
            else int(mem)
        m.start_bochs(iso, smp, mem_mib, bochs_cpu, bochs_extra)
        timeout = BOCHS_BOOT_TIMEOUT
    else:
        raise ValueError(f"unknown emulator {emulator}")
    if wait:
        m.wait_prompt(timeout)
    return m


def _attach(node, machine):
    if not hasattr(node, "hv_machines"):
        node.hv_machines = []
    node.hv_machines.append(machine)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for m in getattr(item, "hv_machines", []):
            for title, text in m.report_sections():
                rep.sections.append((title, text))


@pytest.fixture
def boot(request, tmp_path):
    """Factory: boot(**options) -> Machine at the prompt; all are killed after the test."""
    machines = []

    def _boot(**kw):
        name = kw.pop("name", f"{kw.get('emulator', 'qemu')}{len(machines)}")
        wd = tmp_path / name
        wd.mkdir()

        def register(m):
            machines.append(m)
            _attach(request.node, m)
        return start_machine(name, str(wd), on_create=register, **kw)

    yield _boot
    for m in machines:
        m.kill()


@pytest.fixture(scope="module")
def shared_machine(tmp_path_factory):
    """get(node) -> the module's QEMU machine, booted on first use or after it died."""
    holder = {}

    def get(node):
        m = holder.get("m")
        if m is not None and m.alive:
            return m
        if m is not None:
            m.kill()
        wd = tmp_path_factory.mktemp("shared")
        holder["m"] = None
        return start_machine("shared-qemu", str(wd), smp=4, mem="256M",
                             on_create=lambda new: (holder.update(m=new), _attach(node, new)))

    yield get
    if holder.get("m") is not None:
        holder["m"].kill()


@pytest.fixture
def shell(request, shared_machine):
    """The module's shared QEMU machine (-smp 4, 256 MiB) at a fresh, empty prompt."""
    m = shared_machine(request.node)
    if m not in getattr(request.node, "hv_machines", []):
        _attach(request.node, m)
    m.reset_line()
    return m


def pytest_configure(config):
    config.addinivalue_line("markers", "bochs: boots under Bochs (slow)")
    config.addinivalue_line("markers", "backends(*names): hypervisor backends a test applies "
                            "to (svm: QEMU, vmx: Bochs); default all")
    for tool in ("grub-mkrescue", QEMU):
        if shutil.which(tool) is None:
            raise pytest.UsageError(f"{tool} not found: run 'make deps-test' (as root)")
