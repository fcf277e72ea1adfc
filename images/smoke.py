#!/usr/bin/env python3
"""Runs the images that images/build.py wrote, as containers made of namespaces and a chroot.

    python3 images/smoke.py runtime      sft --max-steps 5 --ckpt in stepwise-runtime; checks
                                         checkpoints/step_5 in the bind-mounted run directory,
                                         then that plot draws that run's plot.png
    python3 images/smoke.py operator     stepwise-operator against the real control plane
                                         (controlplane/, cluster/); checks /q/health/ready

Each image's layers are unpacked from its archive in order into a root filesystem; the
entrypoint runs in new mount, pid, ipc and uts namespaces (and net for the runtime), chrooted
there, as the image's user (65532: no capabilities, no_new_privs) with its environment, the root
bind-mounted read-only and a tmpfs on /tmp. Neither crun nor podman runs on this machine (crun:
"cgroups in hybrid mode not supported"; podman: setrlimit RLIMIT_NPROC without
CAP_SYS_RESOURCE), hence util-linux `unshare` and chroot. Exits non-zero, saying why, on failure.
"""

import ctypes
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "target" / "images"


def fail(message):
    print(f"smoke: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def version():
    import re
    pom = (REPO / "pom.xml").read_text()
    return re.search(r"<artifactId>stepwise-parent</artifactId>\s*<version>([^<]+)</version>", pom).group(1) \
        .removesuffix("-SNAPSHOT")


def unpack(archive, rootfs):
    """Applies the image's layers in order; returns its config (the image has no whiteouts)."""
    if not archive.is_file():
        fail(f"{archive} does not exist: run `python3 images/build.py` first")
    with tarfile.open(archive) as tar:
        def blob(digest):
            return tar.extractfile(f"blobs/sha256/{digest.removeprefix('sha256:')}")

        index = json.load(tar.extractfile("index.json"))
        manifest = json.load(blob(index["manifests"][0]["digest"]))
        config = json.load(blob(manifest["config"]["digest"]))
        rootfs.mkdir(parents=True)
        for layer in manifest["layers"]:
            with tarfile.open(fileobj=blob(layer["digest"]), mode="r|gz") as layer_tar:
                layer_tar.extractall(rootfs, numeric_owner=True)
    return config


def launch(work, archive, args, mounts, network_namespace, extra_env=(), log=None):
    """Starts the image's entrypoint in new mount/pid/ipc/uts (and net) namespaces, chrooted into
    its unpacked layers: root read-only, tmpfs /tmp, the image's user, no capabilities."""
    rootfs = work / "rootfs"
    config = unpack(archive, rootfs)["config"]
    spec = {"root": str(rootfs), "user": config["User"], "cwd": config.get("WorkingDir", "/"),
            "env": config["Env"] + list(extra_env), "args": config["Entrypoint"] + args,
            "mounts": [[str(src), dest, rw] for src, dest, rw in mounts]}
    command = ["unshare", "--mount", "--pid", "--fork", "--ipc", "--uts", "--kill-child",
               *(["--net"] if network_namespace else []),
               sys.executable, str(Path(__file__).resolve()), "--enter", json.dumps(spec)]
    output = open(log, "w") if log else None
    return subprocess.Popen(command, cwd=work, stdout=output, stderr=subprocess.STDOUT if log else None)


def enter(spec):
    """Inside the new namespaces (still the host's root): mounts, chroot, drop to the image's
    user, then exec the image's entrypoint. Nothing of the host runs after the exec."""
    root = spec["root"]

    def mount(*args):
        subprocess.run(["mount", *args], check=True)

    mount("--make-rprivate", "/")
    mount("--bind", root, root)
    mount("-t", "proc", "proc", f"{root}/proc")  # the JVM's launcher finds its libraries through it
    mount("-t", "tmpfs", "-o", "mode=1777,nosuid,nodev,size=2g", "tmpfs", f"{root}/tmp")
    mount("-t", "tmpfs", "-o", "mode=755,nosuid,size=64k", "tmpfs", f"{root}/dev")
    for device in ("null", "zero", "full", "random", "urandom", "tty"):  # what runtimes provide
        Path(f"{root}/dev/{device}").touch()
        mount("--bind", f"/dev/{device}", f"{root}/dev/{device}")
    for src, dest, rw in spec["mounts"]:
        target = Path(root + dest)
        if Path(src).is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()
        mount("--bind", src, str(target))
        if not rw:
            mount("-o", "remount,bind,ro", str(target))
    mount("-o", "remount,bind,ro", root)
    uid, gid = (int(x) for x in spec["user"].split(":"))
    os.chroot(root)
    os.chdir(spec["cwd"])
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)  # from root to another user: the kernel clears every capability
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG SIGKILL again (setuid cleared --kill-child's)

    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    env = dict(e.split("=", 1) for e in spec["env"])
    os.execve(spec["args"][0], spec["args"], env)


def runtime_smoke(work):
    archive = OUT / f"stepwise-runtime-{version()}.oci.tar"
    run_dir = work / "run"
    shutil.copytree(REPO / "examples/reverse-text", run_dir / "examples/reverse-text")
    for path in [run_dir, *run_dir.rglob("*")]:
        os.chown(path, 65532, 65532)
    args = ["sft", "@", "examples/reverse-text/sft.toml", "--max-steps", "5", "--ckpt"]
    print(f"smoke: stepwise-runtime: stepwise {' '.join(args)} (user 65532, read-only root, "
          f"tmpfs /tmp, run directory bound at /var/lib/stepwise/run, no network)", flush=True)
    started = time.monotonic()
    process = launch(work, archive, args, [(run_dir, "/var/lib/stepwise/run", True)], True)
    try:
        code = process.wait(timeout=600)
    except subprocess.TimeoutExpired:
        process.kill()
        fail("the runtime did not finish within 600 s")
    step = run_dir / "checkpoints/step_5"
    if code != 0:
        fail(f"the runtime exited with status {code}")
    if not (step / "manifest.json").is_file():
        fail(f"{step}/manifest.json was not written")
    files = [p for p in step.rglob("*") if p.is_file()]
    owners = {p.stat().st_uid for p in step.rglob("*")}
    if owners != {65532}:
        fail(f"checkpoint files are owned by {owners}, not 65532")
    print(f"smoke: PASS runtime: checkpoints/step_5 complete ({len(files)} files, owner 65532) "
          f"in {time.monotonic() - started:.1f} s", flush=True)
    plot_smoke(work, archive, run_dir)


def plot_smoke(work, archive, run_dir):
    """`stepwise plot .` of the run just made: the image's JRE draws text (its fonts are there)."""
    print("smoke: stepwise-runtime: stepwise plot . (the sft run above)", flush=True)
    (work / "rootfs").rename(work / "rootfs-sft")
    process = launch(work, archive, ["plot", "."], [(run_dir, "/var/lib/stepwise/run", True)], True)
    try:
        code = process.wait(timeout=300)
    except subprocess.TimeoutExpired:
        process.kill()
        fail("plot did not finish within 300 s")
    picture = run_dir / "plot.png"
    if code != 0 or not picture.is_file() or picture.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"plot exited with status {code} and wrote no PNG at {picture}")
    print(f"smoke: PASS runtime: plot.png ({picture.stat().st_size} bytes)", flush=True)


def operator_smoke(work):
    try:
        check_operator(work)
    except SystemExit:
        for log in ("control-plane.log", "operator.log"):
            if (work / log).is_file():
                lines = (work / log).read_text(errors="replace").splitlines()
                print(f"smoke: last lines of {log}:", *lines[-40:], sep="\n", file=sys.stderr)
        raise


def check_operator(work):
    archive = OUT / f"stepwise-operator-{version()}.oci.tar"
    jar = REPO / "cluster/target/stepwise-cluster.jar"
    if not jar.is_file():
        fail(f"{jar} does not exist: mvn -B -ntp -pl crds,runtime,cluster,operator -am package -DskipTests")
    kubeconfig = work / "kubeconfig"
    port = free_port()
    # A Java helper on cluster/'s classes starts the real control plane, applies the CRDs and
    # writes an admin kubeconfig; it prints "ready", and stops everything when its stdin closes.
    helper = subprocess.Popen(
        ["java", "-cp", f"{jar}:{REPO / 'cluster/target/lib'}/*", str(REPO / "images/OperatorSmoke.java"),
         str(REPO), str(work / "cp"), str(kubeconfig)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        stderr=open(work / "control-plane.log", "w"))
    operator = None
    try:
        line = helper.stdout.readline().strip()
        if line != "ready":
            fail(f"the control plane did not start (helper said {line!r})")
        os.chmod(kubeconfig, 0o644)
        print(f"smoke: stepwise-operator (user 65532, read-only root, tmpfs /tmp, host network, "
              f"port {port}) against the control plane", flush=True)
        operator = launch(work, archive, [], [(kubeconfig, "/etc/stepwise-smoke/kubeconfig", False)], False,
                          ["KUBECONFIG=/etc/stepwise-smoke/kubeconfig", "POD_NAMESPACE=default",
                           f"QUARKUS_HTTP_PORT={port}", "JAVA_OPTS=-XX:TieredStopAtLevel=1 -Xmx256m"],
                          log=work / "operator.log")
        started = time.monotonic()
        deadline = started + 180
        last = "no answer"
        while time.monotonic() < deadline:
            if operator.poll() is not None:
                fail(f"the operator exited with status {operator.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/q/health/ready", timeout=5) as r:
                    body = json.loads(r.read())
                    if r.status == 200 and body.get("status") == "UP":
                        print(f"smoke: PASS operator: /q/health/ready UP after {time.monotonic() - started:.1f} s "
                              f"({', '.join(c['name'] for c in body.get('checks', []))})", flush=True)
                        return
                    last = f"{r.status} {body}"
            except urllib.error.HTTPError as e:
                last = f"{e.code} {e.read()[:300]!r}"
            except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
                last = str(e)
            time.sleep(1)
        fail(f"/q/health/ready not UP within 180 s; last answer: {last}")
    finally:
        if operator is not None:
            operator.terminate()
            try:
                operator.wait(timeout=30)
            except subprocess.TimeoutExpired:
                operator.kill()
        helper.stdin.close()
        try:
            helper.wait(timeout=60)
        except subprocess.TimeoutExpired:
            helper.kill()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    if sys.argv[1:2] == ["--enter"]:
        enter(json.loads(sys.argv[2]))
        return
    tests = {"runtime": runtime_smoke, "operator": operator_smoke}
    chosen = sys.argv[1:] or list(tests)
    for name in chosen:
        if name not in tests:
            fail(f"unknown smoke test {name} (known: {', '.join(tests)})")
    if os.geteuid() != 0:
        fail("the smoke tests need root (namespaces, mounts, chroot, chown of the run directory)")
    for name in chosen:
        with tempfile.TemporaryDirectory(prefix=f"stepwise-smoke-{name}-") as work:
            tests[name](Path(work))


if __name__ == "__main__":
    main()
