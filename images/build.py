#!/usr/bin/env python3
"""Builds Stepwise's container images as OCI archives, with no Docker daemon and no registry.

The base is made of Debian packages (libc6, libgcc-s1, libstdc++6, zlib1g, fetched with
`apt-get download`) and a JRE that `jlink` cuts from the JDK that builds the project; the
application layers come from the Maven build's output. Layers are written directly as tar files
in a fixed order with fixed owners and times (the commit's time), so that two builds of the same
inputs give the same digests.

    python3 images/build.py [operator] [runtime] [runtime-gpu]   (default: operator runtime)

Outputs, under target/images/: <name>-<tag>.oci.tar (an OCI image layout in a tar that also
carries Docker's manifest.json, so docker/podman load, kind load image-archive and ctr import
take it), <name>-<tag>.packages.txt (what is inside), and sizes checked against the budgets.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "target" / "images"
CACHE = Path(os.environ.get("STEPWISE_IMAGES_CACHE", Path.home() / ".cache/stepwise/images"))
REGISTRY = os.environ.get("STEPWISE_IMAGE_REGISTRY", "ghcr.io/stepwise-dev")
SOURCE = "https://github.com/stepwise-dev/stepwise"
FORMAT = "7"  # bump when the layer format changes, so that cached layers are rebuilt

DEBS = ["libc6", "libgcc-s1", "libstdc++6", "zlib1g"]
# What the JRE's font rendering (java.desktop's libfontmanager) loads, for `stepwise plot` in the
# runtime images: FreeType, HarfBuzz and what they link, fontconfig with its configuration, and
# the DejaVu fonts (without them a headless JRE cannot measure or draw text).
FONT_DEBS = ["libfreetype6", "libpng16-16", "libbrotli1", "libharfbuzz0b", "libglib2.0-0",
             "libpcre2-8-0", "libgraphite2-3", "libfontconfig1", "libexpat1", "fontconfig-config",
             "fonts-dejavu-core"]
JRE_MODULES = [
    "java.base", "java.compiler", "java.desktop", "java.instrument", "java.logging",
    "java.management", "java.naming", "java.net.http", "java.prefs", "java.scripting",
    "java.security.jgss", "java.security.sasl", "java.sql", "java.transaction.xa", "java.xml",
    "jdk.crypto.cryptoki", "jdk.crypto.ec", "jdk.httpserver", "jdk.management", "jdk.naming.dns",
    "jdk.net", "jdk.unsupported", "jdk.zipfs",
]  # jdk.httpserver: the runtime's inference and metrics servers (com.sun.net.httpserver)
# Paths of Debian packages an image does not need (documentation but copyright, manuals, locales).
DROP = re.compile(r"^usr/share/(man|info|lintian|locale|gcc|gdb)/|^usr/share/doc/[^/]+/(?!copyright$)")
NONROOT = 65532
BUDGET_MB = {"stepwise-operator": 250, "stepwise-runtime": 450}
GPU_ARTIFACTS = [  # group:artifact:version:classifier from Maven Central (~/.m2)
    "org.bytedeco:pytorch:2.10.0-1.5.13:linux-x86_64-gpu",
    "org.bytedeco:cuda:13.1-9.19-1.5.13:",
    "org.bytedeco:cuda:13.1-9.19-1.5.13:linux-x86_64",
    "org.bytedeco:cuda-redist:13.1-9.19-1.5.13:linux-x86_64",
]
# What libtorch_cuda.so needs that cuda-redist 13.1 on Maven Central does not carry (cuBLAS, cuDNN,
# cuSOLVER, cuSPARSE, NCCL): NVIDIA's wheels on PyPI, CUDA 13.0/13.1-era versions.
GPU_WHEELS = ["nvidia-cublas==13.1.0.3", "nvidia-cudnn-cu13==9.19.0.56", "nvidia-cusolver==12.0.4.66",
              "nvidia-cusparse==12.6.3.3", "nvidia-nccl-cu13==2.32.3"]


def fail(message):
    print(f"images: error: {message}", file=sys.stderr)
    sys.exit(1)


def run(*command, **kwargs):
    return subprocess.run(command, check=True, text=True, capture_output=True, **kwargs).stdout


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------- layer entries


class Entry:
    """One file, directory or link of a layer: its content is a path on disk or bytes."""

    def __init__(self, path, kind, mode, source=None, data=None, link=None, uid=0, gid=0):
        self.path, self.kind, self.mode = path.strip("/"), kind, mode
        self.source, self.data, self.link, self.uid, self.gid = source, data, link, uid, gid

    def size(self):
        if self.kind != tarfile.REGTYPE:
            return 0
        return len(self.data) if self.data is not None else os.path.getsize(self.source)

    def key(self):
        """What identifies the content, for the layer cache (size and mtime stand for a file)."""
        if self.source is not None:
            st = os.stat(self.source)
            content = f"{self.source}:{st.st_size}:{st.st_mtime_ns}"
        elif self.data is not None:
            content = hashlib.sha256(self.data).hexdigest()
        else:
            content = self.link or ""
        return f"{self.path}|{self.kind!r}|{self.mode:o}|{self.uid}|{self.gid}|{content}"


def directory(path, mode=0o755, uid=0, gid=0):
    return Entry(path, tarfile.DIRTYPE, mode, uid=uid, gid=gid)


def text(path, content, mode=0o644):
    return Entry(path, tarfile.REGTYPE, mode, data=content.encode())


def tree(src, dest):
    """Every file under src as entries under dest; modes normalised to 0644/0755."""
    src = Path(src)
    if not src.is_dir():
        fail(f"{src} does not exist: build it first: mvn -B -ntp -pl crds,runtime,cluster,operator -am package -DskipTests")
    entries = [directory(dest)]
    for path in sorted(src.rglob("*")):
        rel = f"{dest}/{path.relative_to(src).as_posix()}"
        if path.is_symlink():
            entries.append(Entry(rel, tarfile.SYMTYPE, 0o777, link=os.readlink(path)))
        elif path.is_dir():
            entries.append(directory(rel))
        else:
            mode = 0o755 if os.access(path, os.X_OK) and path.parent.name == "bin" else 0o644
            entries.append(Entry(rel, tarfile.REGTYPE, mode, source=str(path)))
    return entries


def file(src, dest, mode=0o644):
    if not Path(src).is_file():
        fail(f"{src} does not exist: build it first: mvn -B -ntp -pl crds,runtime,cluster,operator -am package -DskipTests")
    return Entry(dest, tarfile.REGTYPE, mode, source=str(src))


def with_parents(entries):
    """Adds missing parent directories, drops duplicates (first wins) and sorts by path."""
    by_path = {}
    for e in entries:
        by_path.setdefault(e.path, e)
    for path in list(by_path):
        parts = path.split("/")
        for i in range(1, len(parts)):
            by_path.setdefault("/".join(parts[:i]), directory("/".join(parts[:i])))
    return [by_path[p] for p in sorted(by_path)]


# ---------------------------------------------------------------- layers


class Layer:
    def __init__(self, name, entries, epoch):
        self.name, self.entries, self.epoch = name, with_parents(entries), epoch
        key = hashlib.sha256(f"{FORMAT}|{epoch}|{GZIP_LEVEL}".encode())
        for e in self.entries:
            key.update(e.key().encode() + b"\n")
        self.key = key.hexdigest()
        self.size = sum(e.size() for e in self.entries)

    def build(self):
        """Writes the layer (cached by its inputs); sets digest, diff_id and blob path."""
        blobs = OUT / "blobs"
        blobs.mkdir(parents=True, exist_ok=True)
        meta = OUT / "layers" / f"{self.key}.json"
        if meta.is_file():
            info = json.loads(meta.read_text())
            blob = blobs / info["digest"]
            if blob.is_file() and blob.stat().st_size == info["blob_size"]:
                self.digest, self.diff_id, self.blob_size = info["digest"], info["diff_id"], info["blob_size"]
                self.blob, self.cached = blob, True
                return self
        raw = hashlib.sha256()
        packed = hashlib.sha256()
        compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # gzip, mtime 0, no name
        with tempfile.NamedTemporaryFile(dir=blobs, delete=False) as out:

            class Sink:
                def write(self, data):
                    raw.update(data)
                    chunk = compressor.compress(data)
                    packed.update(chunk)
                    out.write(chunk)
                    return len(data)

            with tarfile.open(fileobj=Sink(), mode="w|", format=tarfile.GNU_FORMAT) as tar:
                for e in self.entries:
                    self._add(tar, e)
            chunk = compressor.flush()
            packed.update(chunk)
            out.write(chunk)
        self.digest, self.diff_id = packed.hexdigest(), raw.hexdigest()
        self.blob = blobs / self.digest
        os.replace(out.name, self.blob)
        self.blob_size, self.cached = self.blob.stat().st_size, False
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps({"digest": self.digest, "diff_id": self.diff_id,
                                    "blob_size": self.blob_size}))
        return self

    def _add(self, tar, e):
        info = tarfile.TarInfo(e.path + ("/" if e.kind == tarfile.DIRTYPE else ""))
        info.type, info.mode, info.uid, info.gid = e.kind, e.mode, e.uid, e.gid
        info.mtime, info.uname, info.gname = self.epoch, "", ""
        if e.kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
            info.linkname = e.link
            tar.addfile(info)
        elif e.kind == tarfile.REGTYPE:
            info.size = e.size()
            if e.data is not None:
                tar.addfile(info, io.BytesIO(e.data))
            else:
                with open(e.source, "rb") as f:
                    tar.addfile(info, f)
        else:
            tar.addfile(info)


# ---------------------------------------------------------------- base: Debian + JRE


def ensure_apt_lists():
    """A fresh machine has no package lists: `apt-get update` once, so `apt-get download` works."""
    lists = Path("/var/lib/apt/lists")
    if any(lists.glob("*_Packages*")):
        return
    try:
        run("apt-get", "update", "-qq")
    except (subprocess.CalledProcessError, FileNotFoundError) as e:
        detail = e.stderr.strip() if isinstance(e, subprocess.CalledProcessError) else str(e)
        fail("no Debian package lists, and `apt-get update` failed (it needs root and the package"
             f" mirrors; run it once by hand): {detail}")


def download_deb(name, wanted, debs):
    spec = f"{name}={wanted}" if wanted else name
    try:
        run("apt-get", "download", spec, cwd=debs)
    except subprocess.CalledProcessError as e:
        fail(f"apt-get download {spec} failed: {e.stderr.strip()}")


def debian_packages(names=DEBS):
    """Downloads (once) Debian packages (the base's by default); returns [(name, version, arch, path)]."""
    debs = CACHE / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    ensure_apt_lists()
    found = []
    for name in names:
        candidates = sorted([*debs.glob(f"{name}_*_amd64.deb"), *debs.glob(f"{name}_*_all.deb")])
        wanted = apt_candidate(name)
        match = [c for c in candidates if wanted and deb_field(c, "Version") == wanted]
        if not match:
            download_deb(name, wanted, debs)
            candidates = sorted([*debs.glob(f"{name}_*_amd64.deb"), *debs.glob(f"{name}_*_all.deb")])
            match = [c for c in candidates if not wanted or deb_field(c, "Version") == wanted]
        deb = match[-1]
        found.append((name, deb_field(deb, "Version"), deb_field(deb, "Architecture"), deb))
    return found


def apt_candidate(name):
    try:
        out = run("apt-cache", "policy", name)
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None
    m = re.search(r"Candidate:\s*(\S+)", out)
    return m.group(1) if m and m.group(1) != "(none)" else None


def deb_field(deb, field):
    return run("dpkg-deb", "-f", str(deb), field).strip()


def deb_entries(deb):
    """The files of a .deb as entries (read from its data tarball, nothing is installed)."""
    unpacked = CACHE / "unpacked" / Path(deb).stem
    if not (unpacked / ".done").is_file():
        shutil.rmtree(unpacked, ignore_errors=True)
        unpacked.mkdir(parents=True)
        run("dpkg-deb", "-x", str(deb), str(unpacked))
        (unpacked / ".done").write_text("")
    entries = []
    for path in sorted(unpacked.rglob("*")):
        rel = path.relative_to(unpacked).as_posix()
        if rel == ".done" or DROP.search(rel + ("/" if path.is_dir() and not path.is_symlink() else "")):
            continue
        if path.is_symlink():
            entries.append(Entry(rel, tarfile.SYMTYPE, 0o777, link=os.readlink(path)))
        elif path.is_dir():
            entries.append(directory(rel))
        else:
            entries.append(Entry(rel, tarfile.REGTYPE, path.stat().st_mode & 0o7777, source=str(path)))
    return entries


def jre():
    """A JRE jlinked (once per JDK and module list) from the JDK running the build."""
    java_home = Path(os.environ.get("JAVA_HOME") or Path(shutil.which("java")).resolve().parent.parent)
    jlink = java_home / "bin" / "jlink"
    if not jlink.is_file():
        fail(f"no jlink in {java_home} (set JAVA_HOME to a JDK 17)")
    version = subprocess.run([str(java_home / "bin" / "java"), "-XshowSettings:properties", "-version"],
                             capture_output=True, text=True).stderr
    runtime_version = re.search(r"java\.runtime\.version = (\S+)", version).group(1)
    vendor = re.search(r"java\.vendor = (.+)", version).group(1).strip()
    if not runtime_version.startswith("17"):
        fail(f"the JDK at {java_home} is {runtime_version}; the images carry a Java 17 JRE (set JAVA_HOME)")
    key = hashlib.sha256(f"{java_home}|{runtime_version}|{','.join(JRE_MODULES)}".encode()).hexdigest()[:16]
    out = CACHE / f"jre-{key}"
    if not (out / "release").is_file():
        shutil.rmtree(out, ignore_errors=True)
        run(str(jlink), "--add-modules", ",".join(JRE_MODULES), "--strip-debug", "--no-header-files",
            "--no-man-pages", "--compress=2", "--output", str(out))
    return out, f"{vendor} {runtime_version} (jlink of {java_home}: {','.join(JRE_MODULES)})"


def launcher():
    """The images' `stepwise` executable (images/launcher.c), compiled against the base's libc."""
    src = REPO / "images" / "launcher.c"
    out = OUT / "launcher"
    if not out.is_file() or out.stat().st_mtime < src.stat().st_mtime:
        out.parent.mkdir(parents=True, exist_ok=True)
        run("gcc", "-O2", "-s", "-Wall", "-Wextra", "-Werror", f"-ffile-prefix-map={REPO}=.", "-o", str(out), str(src))
    return out


def base_entries(debs):
    entries = []
    for _, _, _, deb in debs:
        entries += deb_entries(deb)
    entries += [
        text("etc/passwd", f"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:{NONROOT}:{NONROOT}:nonroot:/tmp:/sbin/nologin\n"),
        text("etc/group", f"root:x:0:\nnonroot:x:{NONROOT}:\n"),
        text("etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n"),
        directory("tmp", 0o1777),
        directory("root", 0o700),
        directory("proc"), directory("sys"), directory("dev"),  # mount points of a runtime
        directory("var/lib/stepwise/run", 0o755, NONROOT, NONROOT),
        file(launcher(), "usr/local/bin/stepwise", 0o755),
    ]
    return entries


# ---------------------------------------------------------------- images


def maven_jar(coordinate):
    group, artifact, version, classifier = coordinate.split(":")
    name = f"{artifact}-{version}{'-' + classifier if classifier else ''}.jar"
    path = Path.home() / ".m2/repository" / group.replace(".", "/") / artifact / version / name
    if not path.is_file():
        spec = f"{group}:{artifact}:{version}:jar{':' + classifier if classifier else ''}"
        print(f"images: fetching {spec} from Maven Central", flush=True)
        subprocess.run(["mvn", "-B", "-q", "-ntp", "dependency:get", f"-Dartifact={spec}", "-Dtransitive=false"],
                       cwd=REPO, check=True)
    return path


def cuda_wheels():
    """The shared libraries of GPU_WHEELS (downloaded once with pip), as one directory."""
    import zipfile
    wheels = CACHE / "wheels"
    out = CACHE / ("cuda-lib-" + hashlib.sha256(",".join(GPU_WHEELS).encode()).hexdigest()[:16])
    if not (out / ".done").is_file():
        wheels.mkdir(parents=True, exist_ok=True)
        platforms = [a for p in ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
                                 "manylinux2014_x86_64") for a in ("--platform", p)]
        print(f"images: fetching {' '.join(GPU_WHEELS)} from PyPI", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        *platforms, "--python-version", "3.11", "-d", str(wheels), *GPU_WHEELS], check=True)
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        for spec in GPU_WHEELS:
            name, version = spec.split("==")
            wheel = next(iter(sorted(wheels.glob(f"{name.replace('-', '_')}-{version}-*.whl"))), None)
            if wheel is None:
                fail(f"pip did not download {spec}")
            with zipfile.ZipFile(wheel) as z:
                for member in z.namelist():
                    if re.match(r"nvidia/[^/]+/lib/[^/]+\.so[.0-9]*$", member):
                        (out / Path(member).name).write_bytes(z.read(member))
        (out / "wheels.txt").write_text("".join(f"wheel {w.name} sha256:{sha256_file(w)}\n"
                                                for w in sorted(wheels.glob("*.whl"))))
        (out / ".done").write_text("")
    return out


def font_layer():
    """The runtime images' fonts and font libraries (FONT_DEBS), for `stepwise plot`."""
    entries = []
    for _, _, _, deb in debian_packages(FONT_DEBS):
        entries += deb_entries(deb)
    return ("fonts for stepwise plot (FreeType, HarfBuzz, fontconfig, DejaVu)", entries)


def images(version, revision, created):
    runtime_lib = REPO / "runtime/target/lib"
    java_args_cpu = ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.io.tmpdir=/tmp",
                     "-Dorg.bytedeco.javacpp.cachedir=/tmp/javacpp", "-jar", "/opt/stepwise/stepwise-runtime.jar"]
    return {
        "operator": dict(
            name="stepwise-operator", tag=version,
            title="Stepwise operator", description="Reconciles TrainingRun and Checkpoint resources",
            layers=lambda: [
                ("operator dependencies", tree(REPO / "operator/target/quarkus-app/lib", "opt/stepwise/lib")),
                ("operator application", [
                    file(REPO / "operator/target/quarkus-app/quarkus-run.jar", "opt/stepwise/quarkus-run.jar"),
                    *tree(REPO / "operator/target/quarkus-app/app", "opt/stepwise/app"),
                    *tree(REPO / "operator/target/quarkus-app/quarkus", "opt/stepwise/quarkus"),
                    text("opt/stepwise/java.args", "\n".join([
                        "-Djava.util.logging.manager=org.jboss.logmanager.LogManager",
                        "-Djava.io.tmpdir=/tmp", "-jar", "/opt/stepwise/quarkus-run.jar"]) + "\n"),
                ]),
            ],
            config=dict(Entrypoint=["/usr/local/bin/stepwise"], WorkingDir="/opt/stepwise",
                        ExposedPorts={"8080/tcp": {}}),
            jars=[REPO / "operator/target/quarkus-app/lib"],
        ),
        "runtime": dict(
            name="stepwise-runtime", tag=version,
            title="Stepwise runtime", description="sft, rl, trainer, orchestrator, inference on libtorch (CPU)",
            layers=lambda: [
                font_layer(),
                ("runtime dependencies", tree(runtime_lib, "opt/stepwise/lib")),
                ("runtime application", [
                    file(REPO / "runtime/target/stepwise-runtime.jar", "opt/stepwise/stepwise-runtime.jar"),
                    text("opt/stepwise/java.args", "\n".join(java_args_cpu) + "\n"),
                ]),
            ],
            config=dict(Entrypoint=["/usr/local/bin/stepwise"], WorkingDir="/var/lib/stepwise/run",
                        Env=["OMP_WAIT_POLICY=PASSIVE"]),
            jars=[runtime_lib],
            debs=lambda: debian_packages(FONT_DEBS),
        ),
        "runtime-gpu": dict(
            name="stepwise-runtime", tag=f"{version}-gpu",
            title="Stepwise runtime (CUDA)",
            description="sft, rl, trainer, orchestrator, inference on libtorch with CUDA 13",
            layers=lambda: [
                font_layer(),
                ("runtime dependencies without CPU libtorch", [
                    directory("opt/stepwise/lib"),
                    *[e for e in tree(runtime_lib, "opt/stepwise/lib")
                      if not re.search(r"/pytorch-[^/]*-linux-x86_64\.jar$", e.path)]]),
                ("CUDA libtorch and CUDA libraries (Maven Central, org.bytedeco)", [
                    file(maven_jar(c), f"opt/stepwise/gpu/{maven_jar(c).name}") for c in GPU_ARTIFACTS]),
                ("cuBLAS, cuDNN, cuSOLVER, cuSPARSE, NCCL (PyPI, NVIDIA wheels)",
                 [e for e in tree(cuda_wheels(), "opt/stepwise/cuda/lib") if not e.path.endswith((".done", "wheels.txt"))]),
                ("runtime application", [
                    file(REPO / "runtime/target/stepwise-runtime.jar", "opt/stepwise/stepwise-runtime.jar"),
                    text("opt/stepwise/java.args", "\n".join([
                        "-XX:+UseSerialGC", "-Djava.io.tmpdir=/tmp", "-Dorg.bytedeco.javacpp.cachedir=/tmp/javacpp",
                        "-Dorg.bytedeco.javacpp.platform.extension=-gpu",
                        "-cp", "/opt/stepwise/stepwise-runtime.jar:/opt/stepwise/gpu/*:/opt/stepwise/lib/*",
                        "dev.stepwise.runtime.cli.Main"]) + "\n"),
                ]),
            ],
            config=dict(Entrypoint=["/usr/local/bin/stepwise"], WorkingDir="/var/lib/stepwise/run",
                        Env=["OMP_WAIT_POLICY=PASSIVE", "LD_LIBRARY_PATH=/opt/stepwise/cuda/lib",
                             "NVIDIA_VISIBLE_DEVICES=all",
                             "NVIDIA_DRIVER_CAPABILITIES=compute,utility"]),
            jars=[runtime_lib, *[maven_jar(c) for c in GPU_ARTIFACTS]],
            debs=lambda: debian_packages(FONT_DEBS),
            extra=lambda: (cuda_wheels() / "wheels.txt").read_text(),
        ),
    }


def build_image(spec, base_layers, base_packages, version, revision, epoch, created):
    started = time.monotonic()
    ref = f"{REGISTRY}/{spec['name']}:{spec['tag']}"
    layers = base_layers + [Layer(n, e, epoch).build() for n, e in spec["layers"]()]
    labels = {
        "org.opencontainers.image.title": spec["title"],
        "org.opencontainers.image.description": spec["description"],
        "org.opencontainers.image.version": spec["tag"],
        "org.opencontainers.image.revision": revision,
        "org.opencontainers.image.source": SOURCE,
        "org.opencontainers.image.licenses": "Apache-2.0",
        "org.opencontainers.image.created": created,
    }
    env = ["PATH=/usr/local/bin:/opt/java/bin:/usr/bin:/bin", "JAVA_HOME=/opt/java", "LANG=C.UTF-8", "HOME=/tmp"]
    config = {
        "created": created, "architecture": "amd64", "os": "linux",
        "config": {"User": f"{NONROOT}:{NONROOT}", "Labels": labels,
                   **{k: v for k, v in spec["config"].items() if k != "Env"},
                   "Env": env + spec["config"].get("Env", [])},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{l.diff_id}" for l in layers]},
        "history": [{"created": created, "created_by": f"images/build.py: {l.name}"} for l in layers],
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    config_digest = hashlib.sha256(config_bytes).hexdigest()
    manifest = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": f"sha256:{config_digest}", "size": len(config_bytes)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": f"sha256:{l.digest}", "size": l.blob_size} for l in layers],
        "annotations": {k: v for k, v in labels.items() if k != "org.opencontainers.image.title"},
    }
    manifest_bytes = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    manifest_digest = hashlib.sha256(manifest_bytes).hexdigest()
    index = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": manifest["mediaType"], "digest": f"sha256:{manifest_digest}",
                       "size": len(manifest_bytes), "platform": {"architecture": "amd64", "os": "linux"},
                       "annotations": {"io.containerd.image.name": ref,
                                       "org.opencontainers.image.ref.name": ref}}],
    }
    docker_manifest = [{"Config": f"blobs/sha256/{config_digest}", "RepoTags": [ref],
                        "Layers": [f"blobs/sha256/{l.digest}" for l in layers]}]
    archive = OUT / f"{spec['name']}-{spec['tag']}.oci.tar"
    tmp = archive.with_suffix(".tmp")
    with tarfile.open(tmp, "w", format=tarfile.GNU_FORMAT) as tar:
        def add_bytes(name, data):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, epoch
            tar.addfile(info, io.BytesIO(data))

        def add_dir(name):
            info = tarfile.TarInfo(name + "/")
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, epoch
            tar.addfile(info)

        add_bytes("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add_bytes("index.json", json.dumps(index, sort_keys=True, separators=(",", ":")).encode())
        add_bytes("manifest.json", json.dumps(docker_manifest, separators=(",", ":")).encode())
        add_dir("blobs")
        add_dir("blobs/sha256")
        add_bytes(f"blobs/sha256/{config_digest}", config_bytes)
        add_bytes(f"blobs/sha256/{manifest_digest}", manifest_bytes)
        seen = set()
        for l in layers:
            if l.digest in seen:
                continue
            seen.add(l.digest)
            info = tarfile.TarInfo(f"blobs/sha256/{l.digest}")
            info.size, info.mode, info.mtime = l.blob_size, 0o644, epoch
            with open(l.blob, "rb") as f:
                tar.addfile(info, f)
    os.replace(tmp, archive)

    packages = OUT / f"{spec['name']}-{spec['tag']}.packages.txt"
    lines = [f"# {ref}", f"# image digest (manifest): sha256:{manifest_digest}", f"# revision: {revision}", "",
             "## Debian packages (bookworm, amd64; documentation dropped but copyright files)"]
    lines += [f"deb {n} {v} {a} sha256:{sha256_file(p)}"
              for n, v, a, p in base_packages["debs"] + (spec["debs"]() if "debs" in spec else [])]
    lines += ["", "## Java runtime", f"jre {base_packages['jre']}", "", "## Launcher",
              "file /usr/local/bin/stepwise (images/launcher.c, gcc -O2)", "", "## Java libraries"]
    for source in spec["jars"]:
        for jar in sorted(Path(source).rglob("*.jar")) if Path(source).is_dir() else [Path(source)]:
            lines.append(f"jar {jar.name} sha256:{sha256_file(jar)}")
    if "extra" in spec:
        lines += ["", "## Python wheels (shared libraries only)", spec["extra"]().rstrip()]
    packages.write_text("\n".join(lines) + "\n")

    size = sum(l.size for l in layers)
    budget = BUDGET_MB.get(spec["name"]) if not spec["tag"].endswith("-gpu") else None
    verdict = "no budget" if budget is None else ("OK" if size <= budget * 1e6 else "OVER BUDGET")
    cached = sum(1 for l in layers if l.cached)
    print(f"images: {ref}\n  digest sha256:{manifest_digest}\n  archive {archive.relative_to(REPO)} "
          f"({archive.stat().st_size / 1e6:.1f} MB compressed)\n  size {size / 1e6:.1f} MB uncompressed"
          f" (budget {budget or '-'} MB: {verdict}); {cached}/{len(layers)} layers cached; "
          f"{time.monotonic() - started:.1f} s", flush=True)
    return verdict != "OVER BUDGET"


def main():
    global GZIP_LEVEL
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="*", default=["operator", "runtime"],
                        help="operator, runtime, runtime-gpu (default: operator runtime)")
    parser.add_argument("--gzip-level", type=int, default=6, choices=range(1, 10))
    args = parser.parse_args()
    GZIP_LEVEL = args.gzip_level
    pom = (REPO / "pom.xml").read_text()
    version = re.search(r"<artifactId>stepwise-parent</artifactId>\s*<version>([^<]+)</version>", pom)
    if not version:
        fail("cannot read the project version from pom.xml")
    version = version.group(1).removesuffix("-SNAPSHOT")
    revision = run("git", "rev-parse", "HEAD", cwd=REPO).strip()
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or run("git", "log", "-1", "--format=%ct", cwd=REPO).strip())
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    specs = images(version, revision, created)
    unknown = [i for i in args.images if i not in specs]
    if unknown:
        fail(f"unknown image {', '.join(unknown)} (known: {', '.join(specs)})")

    started = time.monotonic()
    debs = debian_packages()
    jre_dir, jre_description = jre()
    base_layers = [Layer("Debian base (libc6, libgcc-s1, libstdc++6, zlib1g), users, launcher",
                         base_entries(debs), epoch).build(),
                   Layer("Java 17 runtime (jlink)", tree(jre_dir, "opt/java"), epoch).build()]
    ok = all(build_image(specs[i], base_layers, {"debs": debs, "jre": jre_description}, version, revision,
                         epoch, created) for i in args.images)
    print(f"images: done in {time.monotonic() - started:.1f} s", flush=True)
    if not ok:
        fail("an image is over its size budget")


GZIP_LEVEL = 6

if __name__ == "__main__":
    main()
