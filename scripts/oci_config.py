"""The OCI runtime config (``config.json``) for a Docker-like ``runc run`` of a built image.

What ``docker run`` would give the container, written out for runc: the image's
Entrypoint + Cmd (or a command given here), its Env, WorkingDir and User;
Docker's default capabilities (effective only for root, as Docker does);
Docker's default seccomp rules (``/usr/share/containers/seccomp.json``, the
containers project's version of Docker's profile, resolved here for this
architecture and those capabilities, with Docker's stricter namespace rules
put back); its own PID, IPC, UTS and mount
namespaces; a 64 MiB ``/dev/shm``; the host's network (``--network host``:
the replica is served on the host's loopback); and ``/data`` bound to a host
folder. Used by ``scripts/docker-check``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys

DOCKER_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
               "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
               "CAP_AUDIT_WRITE"]
ARCH = {"x86_64": ("amd64", ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
        "aarch64": ("arm64", ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"])}


def seccomp(profile: dict, caps: list[str]) -> dict:
    """Docker's profile format → the runtime spec's, for this machine's architecture and ``caps``."""
    arch, arches = ARCH[platform.machine()]
    rules = []
    for rule in profile["syscalls"]:
        inc, exc = rule.get("includes") or {}, rule.get("excludes") or {}
        if inc.get("arches") and arch not in inc["arches"]:
            continue
        if exc.get("arches") and arch in exc["arches"]:
            continue
        if inc.get("caps") and not all(c in caps for c in inc["caps"]):
            continue
        if exc.get("caps") and any(c in caps for c in exc["caps"]):
            continue
        entry = {"names": rule["names"], "action": rule["action"]}
        if rule.get("args"):
            entry["args"] = [{k: a[k] for k in ("index", "value", "valueTwo", "op")} for a in rule["args"]]
        if rule.get("errnoRet") is not None:
            entry["errnoRet"] = rule["errnoRet"]
        rules.append(entry)
    if "CAP_SYS_ADMIN" not in caps:
        rules = docker_namespace_rules(rules)
    out = {"defaultAction": profile["defaultAction"], "architectures": arches, "syscalls": rules}
    if profile.get("defaultErrnoRet") is not None:
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]
    return out


# Where Docker's profile (moby's default.json) is stricter than the containers project's copy: without
# CAP_SYS_ADMIN no new namespaces — clone only without namespace flags, clone3 answers ENOSYS (so libc falls
# back to clone), unshare is not allowed at all.
CLONE_NAMESPACE_FLAGS = 0x7E020000  # NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET


def docker_namespace_rules(rules: list[dict]) -> list[dict]:
    strict = {"clone", "clone3", "unshare"}
    out = []
    for rule in rules:
        if rule["action"] == "SCMP_ACT_ALLOW" and strict & set(rule["names"]):
            names = [n for n in rule["names"] if n not in strict]
            if not names:
                continue
            rule = {**rule, "names": names}
        out.append(rule)
    out.append({"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": CLONE_NAMESPACE_FLAGS, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]})
    out.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-config", required=True, help="JSON of `buildah inspect --type image`")
    parser.add_argument("--rootfs", required=True)
    parser.add_argument("--data", required=True, help="host folder mounted at /data")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE added to the image's Env")
    parser.add_argument("--user", default=None, help="uid:gid (default: the image's USER)")
    parser.add_argument("--seccomp", default="/usr/share/containers/seccomp.json")
    parser.add_argument("command", nargs="*", help="replaces the image's Cmd (the Entrypoint stays)")
    args = parser.parse_args()

    image = json.load(open(args.image_config))
    config = image["OCIv1"]["config"]
    process_args = (config.get("Entrypoint") or []) + (args.command or config.get("Cmd") or [])
    user = args.user or config.get("User") or "0:0"
    uid, _, gid = user.partition(":")
    uid_n, gid_n = int(uid), int(gid or uid)
    caps = DOCKER_CAPS
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    effective = caps if uid_n == 0 else []
    env = {}
    for item in (config.get("Env") or []) + args.env:
        key, _, value = item.partition("=")
        env[key] = value
    spec = {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": False,
            "user": {"uid": uid_n, "gid": gid_n},
            "args": process_args,
            "env": [f"{k}={v}" for k, v in env.items()],
            "cwd": config.get("WorkingDir") or "/",
            "capabilities": {"bounding": caps, "effective": effective, "permitted": effective,
                             "inheritable": [], "ambient": []},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": nofile, "soft": nofile}],  # Docker passes the daemon's
            "noNewPrivileges": False,
        },
        "root": {"path": args.rootfs, "readonly": False},
        "hostname": "mta",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
            {"destination": "/etc/resolv.conf", "type": "bind", "source": "/etc/resolv.conf", "options": ["rbind", "ro"]},
            {"destination": "/data", "type": "bind", "source": args.data, "options": ["rbind", "rw"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount")],
            "seccomp": seccomp(json.load(open(args.seccomp)), caps),
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                            "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }
    json.dump(spec, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
