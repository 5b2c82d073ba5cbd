"""A real one-node SLURM cluster (slurmctld + slurmd + munged) living entirely in one temp dir.

Its own SLURM_CONF, free ports, a munge key and socket of its own, NodeAddr 127.0.0.1; nothing is
written to /etc and the daemons are stopped by their PIDs. Needs root and Debian's slurm-wlm and
munge packages (`.ci/run` installs them).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BINARIES = ("slurmctld", "slurmd", "munged", "sbatch", "squeue", "scancel", "sinfo")


def missing() -> str | None:
    """Why this machine cannot run the cluster, or None."""
    if os.geteuid() != 0:
        return "the one-node SLURM cluster needs root (slurmd runs jobs as their user)"
    absent = [name for name in BINARIES if not shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin")]
    if absent:
        return f"SLURM binaries absent ({', '.join(absent)}): apt-get install -y slurm-wlm munge"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SlurmCluster:
    """Start with :meth:`start`, stop with :meth:`stop`; ``env`` points the SLURM commands at it."""

    def __init__(self, cpus: int = 2, memory_mb: int = 8000) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="gzslurm-", dir="/tmp"))  # short: socket paths
        self.cpus, self.memory_mb = cpus, memory_mb
        self.host = socket.gethostname().split(".")[0]
        self.conf = self.root / "slurm.conf"
        self.munge_socket = self.root / "munge" / "munge.socket"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf),
                    "PATH": os.environ.get("PATH", "") + ":/usr/sbin"}

    def _munge(self) -> None:
        """munged as user munge: its key in a private folder, its socket in one everyone can reach."""
        munge = pwd.getpwnam("munge")
        os.chmod(self.root, 0o755)
        secret, public = self.root / "munge-key", self.root / "munge"
        for folder, mode in ((secret, 0o700), (public, 0o755)):
            folder.mkdir()
            os.chown(folder, munge.pw_uid, munge.pw_gid)
            os.chmod(folder, mode)
        key = secret / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chown(key, munge.pw_uid, munge.pw_gid)
        os.chmod(key, 0o400)
        subprocess.run(["runuser", "-u", "munge", "--", "/usr/sbin/munged", f"--key-file={key}",
                        f"--socket={self.munge_socket}", f"--pid-file={secret / 'munged.pid'}",
                        f"--log-file={secret / 'munged.log'}", f"--seed-file={secret / 'munged.seed'}"],
                       check=True, capture_output=True, timeout=30)

    def _write_conf(self) -> None:
        for name in ("state", "spool", "log"):
            (self.root / name).mkdir()
        auth = f"AuthInfo=socket={self.munge_socket}"
        self.conf.write_text("\n".join([
            "ClusterName=ganzoo-test",
            f"SlurmctldHost={self.host}(127.0.0.1)",
            f"SlurmctldPort={_free_port()}",
            f"SlurmdPort={_free_port()}",
            "SlurmUser=root",
            "AuthType=auth/munge", auth, "CredType=cred/munge",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "ReturnToService=2",
            "JobAcctGatherType=jobacct_gather/none",
            "MpiDefault=none",
            "KillWait=30",
            f"StateSaveLocation={self.root / 'state'}",
            f"SlurmdSpoolDir={self.root / 'spool'}",
            f"SlurmctldPidFile={self.root / 'slurmctld.pid'}",
            f"SlurmdPidFile={self.root / 'slurmd.pid'}",
            f"SlurmctldLogFile={self.root / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={self.root / 'log' / 'slurmd.log'}",
            f"NodeName={self.host} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.memory_mb} State=UNKNOWN",
            f"PartitionName=debug Nodes={self.host} Default=YES MaxTime=INFINITE State=UP",
            "",
        ]))

    def start(self, timeout: float = 60) -> SlurmCluster:
        self._munge()
        self._write_conf()
        for daemon in ("/usr/sbin/slurmctld", "/usr/sbin/slurmd"):
            subprocess.run([daemon, "-f", str(self.conf)], check=True, capture_output=True, env=self.env, timeout=30)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, env=self.env)
            if state.returncode == 0 and state.stdout.strip() == "idle":
                return self
            time.sleep(0.5)
        raise RuntimeError(f"the SLURM node did not become idle: {self.logs()}")

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in sorted((self.root / "log").glob("*.log")))

    def stop(self) -> None:
        for pid_file in (self.root / "slurmd.pid", self.root / "slurmctld.pid", self.root / "munge-key" / "munged.pid"):
            try:
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGTERM)
            except (OSError, ValueError):
                pass
        time.sleep(1)
        shutil.rmtree(self.root, ignore_errors=True)
