import dev.stepwise.cluster.controlplane.ControlPlane;
import dev.stepwise.cluster.controlplane.ControlPlaneBinary;
import java.io.FileInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The API server side of images/smoke.py's operator test: starts the real control plane (the
 * cluster module's ControlPlane on the cached controlplane/ binary) in {@code args[1]}, applies the
 * chart's CRDs, copies the admin kubeconfig to {@code args[2]}, prints "ready", and stops the
 * control plane when its standard input closes.
 *
 * <p>java -cp cluster/target/stepwise-cluster.jar:cluster/target/lib/* images/OperatorSmoke.java
 * REPO STATE_DIR KUBECONFIG_OUT
 */
public class OperatorSmoke {
  public static void main(String[] args) throws Exception {
    var repo = Path.of(args[0]);
    var binary = ControlPlaneBinary.resolve(repo);
    try (var plane = ControlPlane.start(Path.of(args[1]), binary, ControlPlane.freePort(), false)) {
      var client = plane.client(plane.credentials().admin());
      try (var crds = Files.newDirectoryStream(repo.resolve("helm/stepwise/crds"), "*.yml")) {
        for (var crd : crds) {
          try (var in = new FileInputStream(crd.toFile())) {
            client.load(in).serverSideApply();
          }
        }
      }
      Files.copy(plane.adminKubeconfig(), Path.of(args[2]), StandardCopyOption.REPLACE_EXISTING);
      System.out.println("ready");
      System.out.flush();
      while (System.in.read() >= 0) {
        // the smoke test closes stdin when it is done
      }
    }
  }
}
