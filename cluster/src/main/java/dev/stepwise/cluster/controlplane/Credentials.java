package dev.stepwise.cluster.controlplane;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

/**
 * The control plane's secrets, made once per state directory and kept across restarts: the
 * ServiceAccount signing key pair and the static bearer tokens of the identities that are not
 * ServiceAccounts (the admin, the controller manager, the local kubelet).
 */
public final class Credentials {

  /** A static identity of the token file: who it is and the groups it belongs to. */
  public record Identity(String user, String group, String token) {}

  private final Path dir;

  private Credentials(Path dir) {
    this.dir = dir;
  }

  /** Loads the credentials under {@code dir}, making whatever is missing. */
  public static Credentials in(Path dir) throws IOException {
    Files.createDirectories(dir);
    var credentials = new Credentials(dir);
    if (!Files.exists(credentials.signingKey()) || !Files.exists(credentials.verifyingKey())) {
      credentials.makeServiceAccountKeys();
    }
    if (!Files.exists(credentials.tokenFile())) {
      credentials.makeTokens();
    }
    return credentials;
  }

  /** PKCS#8 private key that signs ServiceAccount tokens. */
  public Path signingKey() {
    return dir.resolve("service-account.key");
  }

  /** Public half of {@link #signingKey()}, for verification. */
  public Path verifyingKey() {
    return dir.resolve("service-account.pub");
  }

  /** The API server's {@code --token-auth-file}. */
  public Path tokenFile() {
    return dir.resolve("tokens.csv");
  }

  /** Cluster admin (group {@code system:masters}): the user's kubectl and the tests' driver. */
  public Identity admin() throws IOException {
    return identity("stepwise-admin");
  }

  /** kube-controller-manager's identity. */
  public Identity controllerManager() throws IOException {
    return identity("system:kube-controller-manager");
  }

  /** The local kubelet's identity. */
  public Identity kubelet() throws IOException {
    return identity("system:node:stepwise-local");
  }

  private Identity identity(String user) throws IOException {
    for (var line : Files.readAllLines(tokenFile(), StandardCharsets.UTF_8)) {
      var fields = line.split(",");
      if (fields.length >= 4 && fields[1].equals(user)) {
        return new Identity(user, fields[3].replace("\"", ""), fields[0]);
      }
    }
    throw new IOException(tokenFile() + " has no token for " + user + "; remove it to remake it");
  }

  private void makeServiceAccountKeys() throws IOException {
    try {
      var generator = KeyPairGenerator.getInstance("RSA");
      generator.initialize(2048);
      var pair = generator.generateKeyPair();
      writePrivate(signingKey(), pem("PRIVATE KEY", pair.getPrivate().getEncoded()));
      writePrivate(verifyingKey(), pem("PUBLIC KEY", pair.getPublic().getEncoded()));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no RSA key generator", e);
    }
  }

  private void makeTokens() throws IOException {
    var random = new SecureRandom();
    var lines = new StringBuilder();
    // The three identities are cluster admins: RBAC's own bootstrap roles would do for the
    // controller manager, but a kubelet here also binds pods and provisions volumes.
    for (var user :
        List.of("stepwise-admin", "system:kube-controller-manager", "system:node:stepwise-local")) {
      var bytes = new byte[24];
      random.nextBytes(bytes);
      var token = HexFormat.of().formatHex(bytes);
      lines.append(token).append(',').append(user).append(',').append(user);
      lines.append(",\"system:masters\"\n");
    }
    writePrivate(tokenFile(), lines.toString());
  }

  private static String pem(String type, byte[] der) {
    var body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encode(der);
    return "-----BEGIN "
        + type
        + "-----\n"
        + new String(body, StandardCharsets.US_ASCII)
        + "\n-----END "
        + type
        + "-----\n";
  }

  /** Written under a temporary name and renamed, readable by the owner only. */
  private static void writePrivate(Path file, String content) throws IOException {
    var tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, content, StandardCharsets.UTF_8);
    tmp.toFile().setReadable(false, false);
    tmp.toFile().setReadable(true, true);
    Files.move(
        tmp,
        file,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }
}
