package dev.stepwise.cluster.kubelet;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.zip.GZIPOutputStream;

/**
 * OCI image archives written by tests: small layers of chosen entries, and a shell image made of
 * this machine's {@code sh} and a few coreutils with the libraries {@code ldd} names.
 */
final class TestImages {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** One layer entry; {@code type} as in tar: '0' file, '2' symlink, '1' hard link, '5' dir. */
  record Entry(String path, char type, int mode, int uid, int gid, byte[] data, String link) {

    static Entry file(String path, String content, int mode) {
      return new Entry(path, '0', mode, 0, 0, content.getBytes(StandardCharsets.UTF_8), "");
    }

    static Entry file(String path, String content, int mode, int uid, int gid) {
      return new Entry(path, '0', mode, uid, gid, content.getBytes(StandardCharsets.UTF_8), "");
    }

    static Entry bytes(String path, byte[] data, int mode) {
      return new Entry(path, '0', mode, 0, 0, data, "");
    }

    static Entry dir(String path, int mode, int uid, int gid) {
      return new Entry(path, '5', mode, uid, gid, new byte[0], "");
    }

    static Entry symlink(String path, String target) {
      return new Entry(path, '2', 0777, 0, 0, new byte[0], target);
    }

    static Entry hardLink(String path, String target) {
      return new Entry(path, '1', 0644, 0, 0, new byte[0], target);
    }
  }

  private TestImages() {}

  /**
   * Writes an OCI archive of one image named {@code reference} with {@code config} (the image
   * config's "config" section) and {@code layers}; returns its manifest digest.
   */
  static String write(
      Path archive, String reference, Map<String, Object> config, List<List<Entry>> layers)
      throws IOException {
    var blobs = new LinkedHashMap<String, byte[]>();
    var layerDescriptors = new ArrayList<Map<String, Object>>();
    var diffIds = new ArrayList<String>();
    for (var layer : layers) {
      var tar = tar(layer);
      var gz = gzip(tar);
      var digest = "sha256:" + sha256(gz);
      blobs.put(digest, gz);
      diffIds.add("sha256:" + sha256(tar));
      layerDescriptors.add(
          Map.of(
              "mediaType",
              "application/vnd.oci.image.layer.v1.tar+gzip",
              "digest",
              digest,
              "size",
              gz.length));
    }
    var configBytes =
        JSON.writeValueAsBytes(
            Map.of(
                "architecture",
                "amd64",
                "os",
                "linux",
                "config",
                config,
                "rootfs",
                Map.of("type", "layers", "diff_ids", diffIds)));
    var configDigest = "sha256:" + sha256(configBytes);
    blobs.put(configDigest, configBytes);
    var manifest =
        JSON.writeValueAsBytes(
            Map.of(
                "schemaVersion",
                2,
                "mediaType",
                "application/vnd.oci.image.manifest.v1+json",
                "config",
                Map.of(
                    "mediaType",
                    "application/vnd.oci.image.config.v1+json",
                    "digest",
                    configDigest,
                    "size",
                    configBytes.length),
                "layers",
                layerDescriptors));
    var manifestDigest = "sha256:" + sha256(manifest);
    blobs.put(manifestDigest, manifest);
    var index =
        JSON.writeValueAsBytes(
            Map.of(
                "schemaVersion",
                2,
                "manifests",
                List.of(
                    Map.of(
                        "mediaType",
                        "application/vnd.oci.image.manifest.v1+json",
                        "digest",
                        manifestDigest,
                        "size",
                        manifest.length,
                        "platform",
                        Map.of("architecture", "amd64", "os", "linux"),
                        "annotations",
                        Map.of("org.opencontainers.image.ref.name", reference)))));
    var outer = new ArrayList<Entry>();
    outer.add(Entry.bytes("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes(), 0644));
    outer.add(Entry.bytes("index.json", index, 0644));
    blobs.forEach(
        (digest, data) ->
            outer.add(Entry.bytes("blobs/sha256/" + digest.substring(7), data, 0644)));
    Files.createDirectories(archive.getParent());
    Files.write(archive, tar(outer));
    return manifestDigest;
  }

  /**
   * A shell image: this machine's {@code sh}, {@code sleep}, {@code cat}, {@code id}, {@code
   * touch}, {@code env} and {@code ls} with their libraries, /bin and /lib as links into /usr as
   * Debian has them, /tmp, an /etc/passwd with user "app" (1234:1234). Config: ENTRYPOINT {@code
   * /bin/sh -c}, CMD {@code echo image-cmd FROM_IMAGE=$FROM_IMAGE}, USER app, WORKDIR /home/app,
   * ENV FROM_IMAGE=yes.
   */
  static String shellImage(Path archive, String reference) throws IOException {
    var entries = new ArrayList<Entry>();
    for (var top : List.of("bin", "lib", "lib64", "sbin")) {
      entries.add(Entry.symlink(top, "usr/" + top));
    }
    entries.add(Entry.dir("tmp", 01777, 0, 0));
    entries.add(Entry.dir("home/app", 0755, 1234, 1234));
    entries.add(
        Entry.file(
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234:app:/home/app:/bin/sh\n",
            0644));
    entries.add(Entry.file("etc/group", "root:x:0:\napp:x:1234:\n", 0644));
    var needed = new TreeSet<String>();
    for (var program : List.of("sh", "sleep", "cat", "id", "touch", "env", "ls")) {
      var path = Path.of("/usr/bin", program);
      needed.add(path.toString());
      needed.addAll(libraries(path.toRealPath()));
    }
    for (var path : needed) {
      var real = Path.of(path).toRealPath();
      entries.add(Entry.bytes(real.toString().substring(1), Files.readAllBytes(real), 0755));
      var merged = path.replaceFirst("^/(bin|lib|lib64|sbin)/", "/usr/$1/");
      if (!merged.equals(real.toString())) {
        entries.add(Entry.symlink(merged.substring(1), real.toString()));
      }
    }
    var config = new LinkedHashMap<String, Object>();
    config.put("Entrypoint", List.of("/bin/sh", "-c"));
    config.put("Cmd", List.of("echo image-cmd FROM_IMAGE=$FROM_IMAGE"));
    config.put("User", "app");
    config.put("WorkingDir", "/home/app");
    config.put("Env", List.of("PATH=/usr/bin:/bin", "FROM_IMAGE=yes"));
    return write(archive, reference, config, List.of(entries));
  }

  /** The shared libraries {@code ldd} says {@code binary} loads, and its interpreter. */
  private static List<String> libraries(Path binary) throws IOException {
    var process = new ProcessBuilder("ldd", binary.toString()).redirectErrorStream(true).start();
    var out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    var libs = new ArrayList<String>();
    for (var line : out.split("\n")) {
      var words = line.trim().split("\\s+");
      for (var word : words) {
        if (word.startsWith("/")) {
          libs.add(word);
        }
      }
    }
    if (libs.isEmpty()) {
      throw new IOException("ldd " + binary + " named no library:\n" + out);
    }
    return libs;
  }

  /** An uncompressed tar (ustar) of {@code entries}. */
  static byte[] tar(List<Entry> entries) throws IOException {
    var out = new ByteArrayOutputStream();
    for (var e : entries) {
      var header = new byte[512];
      var name = e.path() + (e.type() == '5' && !e.path().endsWith("/") ? "/" : "");
      put(header, 0, 100, name);
      put(header, 100, 8, octal(e.mode(), 7));
      put(header, 108, 8, octal(e.uid(), 7));
      put(header, 116, 8, octal(e.gid(), 7));
      put(header, 124, 12, octal(e.type() == '0' ? e.data().length : 0, 11));
      put(header, 136, 12, octal(1_700_000_000L, 11));
      header[156] = (byte) e.type();
      put(header, 157, 100, e.link());
      put(header, 257, 6, "ustar");
      put(header, 263, 2, "00");
      for (int i = 148; i < 156; i++) {
        header[i] = ' ';
      }
      long sum = 0;
      for (var b : header) {
        sum += b & 0xff;
      }
      put(header, 148, 8, octal(sum, 6));
      out.write(header);
      if (e.type() == '0') {
        out.write(e.data());
        out.write(new byte[(512 - e.data().length % 512) % 512]);
      }
    }
    out.write(new byte[1024]);
    return out.toByteArray();
  }

  private static String octal(long value, int digits) {
    return String.format("%0" + digits + "o", value);
  }

  private static void put(byte[] header, int offset, int length, String value) {
    var bytes = value.getBytes(StandardCharsets.UTF_8);
    if (bytes.length > length) {
      throw new IllegalArgumentException("tar field too long: " + value);
    }
    System.arraycopy(bytes, 0, header, offset, bytes.length);
  }

  private static byte[] gzip(byte[] data) throws IOException {
    var out = new ByteArrayOutputStream();
    try (OutputStream gz = new GZIPOutputStream(out)) {
      gz.write(data);
    }
    return out.toByteArray();
  }

  static String sha256(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
