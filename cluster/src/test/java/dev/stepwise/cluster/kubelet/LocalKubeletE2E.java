package dev.stepwise.cluster.kubelet;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.cluster.controlplane.ControlPlane;
import dev.stepwise.cluster.controlplane.ControlPlaneBinary;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local kubelet on the real control plane: pods that the controller manager's Deployment and
 * Job controllers create are bound, run as local processes ({@link LocalImages#HOST} commands), get
 * their volumes, environment and ServiceAccount identity, and are restarted, stopped and reported
 * as a kubelet would.
 */
class LocalKubeletE2E {

  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir static Path work;

  private static ControlPlane controlPlane;
  private static KubernetesClient client;
  private static LocalKubelet kubelet;

  @BeforeAll
  static void start() throws Exception {
    var repo = ControlPlaneBinary.repo();
    controlPlane =
        ControlPlane.start(
            work.resolve("controlplane"), ControlPlaneBinary.resolve(repo), 0, false);
    client = controlPlane.client(controlPlane.credentials().admin());
    kubelet =
        new LocalKubelet(
                controlPlane.client(controlPlane.credentials().kubelet()),
                work.resolve("kubelet"),
                LocalImages.ofCheckout(repo),
                controlPlane.apiPort())
            .start();
  }

  @AfterAll
  static void stop() {
    if (kubelet != null) {
      kubelet.close();
    }
    if (client != null) {
      client.close();
    }
    if (controlPlane != null) {
      controlPlane.close();
    }
  }

  private static String namespace(String name) {
    client
        .resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build())
        .create();
    return name;
  }

  private static PodSpec sh(String script) {
    return new PodSpecBuilder()
        .addNewContainer()
        .withName("main")
        .withImage(LocalImages.HOST)
        .withCommand("/bin/sh", "-c", script)
        .endContainer()
        .build();
  }

  private static EnvVar value(String name, String value) {
    return new EnvVarBuilder().withName(name).withValue(value).build();
  }

  private static EnvVar field(String name, String path) {
    return new EnvVarBuilder()
        .withName(name)
        .withNewValueFrom()
        .withNewFieldRef()
        .withFieldPath(path)
        .endFieldRef()
        .endValueFrom()
        .build();
  }

  /** A Service {@code name} selecting pods labelled app={@code name}, port to targetPort. */
  private static void createService(String ns, String name, int port, int targetPort) {
    client
        .resource(
            new ServiceBuilder()
                .withNewMetadata()
                .withName(name)
                .withNamespace(ns)
                .endMetadata()
                .withNewSpec()
                .withSelector(Map.of("app", name))
                .addNewPort()
                .withPort(port)
                .withNewTargetPort(targetPort)
                .endPort()
                .endSpec()
                .build())
        .create();
  }

  private static void awaitPhase(String ns, String pod, Predicate<String> phase) {
    await()
        .atMost(WAIT)
        .until(
            () -> client.pods().inNamespace(ns).withName(pod).get().getStatus().getPhase(), phase);
  }

  private static void createPod(String ns, String name, Map<String, String> labels, PodSpec spec) {
    client
        .resource(
            new PodBuilder()
                .withNewMetadata()
                .withName(name)
                .withNamespace(ns)
                .withLabels(labels)
                .endMetadata()
                .withSpec(spec)
                .build())
        .create();
  }

  private static Pod onlyPod(String ns, String app) {
    return await()
        .atMost(WAIT)
        .until(
            () ->
                client.pods().inNamespace(ns).withLabel("app", app).list().getItems().stream()
                    .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
                    .toList(),
            pods -> pods.size() == 1)
        .get(0);
  }

  @Test
  void deploymentPodsRunWithVolumesEnvAndReadinessAndRecoverFromKillAndDelete() throws Exception {
    var ns = namespace("kubelet-deploy");
    client
        .resource(
            new ConfigMapBuilder()
                .withNewMetadata()
                .withName("settings")
                .withNamespace(ns)
                .endMetadata()
                .withData(Map.of("greeting.txt", "hello from a configmap"))
                .build())
        .create();
    var spec =
        sh(
            "echo pod=$POD_NAME ns=$POD_NS; cat /etc/settings/greeting.txt; echo;"
                + " trap 'echo got SIGTERM; exit 0' TERM; while true; do sleep 0.1; done");
    var container = spec.getContainers().get(0);
    container.setEnv(
        List.of(field("POD_NAME", "metadata.name"), field("POD_NS", "metadata.namespace")));
    container.setVolumeMounts(
        List.of(
            new VolumeMountBuilder().withName("settings").withMountPath("/etc/settings").build()));
    spec.setVolumes(
        List.of(
            new VolumeBuilder()
                .withName("settings")
                .withNewConfigMap()
                .withName("settings")
                .endConfigMap()
                .build()));
    spec.setTerminationGracePeriodSeconds(5L);
    var deployment =
        new DeploymentBuilder()
            .withNewMetadata()
            .withName("web")
            .withNamespace(ns)
            .endMetadata()
            .withNewSpec()
            .withReplicas(1)
            .withNewSelector()
            .withMatchLabels(Map.of("app", "web"))
            .endSelector()
            .withNewTemplate()
            .withNewMetadata()
            .withLabels(Map.of("app", "web"))
            .endMetadata()
            .withSpec(spec)
            .endTemplate()
            .endSpec()
            .build();
    client.resource(deployment).create();

    // The Deployment controller sees the pod Ready: binding, start and status all worked.
    await()
        .atMost(WAIT)
        .until(
            () -> client.apps().deployments().inNamespace(ns).withName("web").get().getStatus(),
            s -> s != null && Integer.valueOf(1).equals(s.getAvailableReplicas()));
    var pod = onlyPod(ns, "web");
    var name = pod.getMetadata().getName();
    assertEquals(LocalKubelet.NODE, pod.getSpec().getNodeName());
    await()
        .atMost(WAIT)
        .until(() -> kubelet.logTail(ns, name, 5), log -> log.contains("hello from a configmap"));
    assertTrue(kubelet.logTail(ns, name, 5).contains("pod=" + name + " ns=" + ns));

    // SIGKILL: restarted in place, counted.
    var firstPid = kubelet.processes(ns).get(name).pid();
    kubelet.kill(ns, name);
    await()
        .atMost(WAIT)
        .until(
            () -> client.pods().inNamespace(ns).withName(name).get().getStatus(),
            s ->
                s.getContainerStatuses().get(0).getRestartCount() == 1
                    && s.getContainerStatuses().get(0).getState().getRunning() != null);
    assertNotEquals(firstPid, kubelet.processes(ns).get(name).pid());

    // Delete: SIGTERM within the grace period, the object goes, the ReplicaSet makes a new pod.
    var process = ProcessHandle.of(kubelet.processes(ns).get(name).pid()).orElseThrow();
    client.pods().inNamespace(ns).withName(name).delete();
    await().atMost(WAIT).until(() -> client.pods().inNamespace(ns).withName(name).get() == null);
    assertFalse(process.isAlive(), "the deleted pod's process is gone");
    assertTrue(
        kubelet.logTail(ns, name, 5).contains("got SIGTERM"),
        "stopped with SIGTERM first: " + kubelet.logTail(ns, name, 5));
    var successor = onlyPod(ns, "web");
    assertNotEquals(name, successor.getMetadata().getName());
  }

  @Test
  void aJobRunsToCompletionAndAFailingCommandShowsItsReason() {
    var ns = namespace("kubelet-job");
    var spec = sh("echo done");
    spec.setRestartPolicy("Never");
    client
        .resource(
            new JobBuilder()
                .withNewMetadata()
                .withName("once")
                .withNamespace(ns)
                .endMetadata()
                .withNewSpec()
                .withBackoffLimit(0)
                .withNewTemplate()
                .withSpec(spec)
                .endTemplate()
                .endSpec()
                .build())
        .create();
    await()
        .atMost(WAIT)
        .until(
            () -> client.batch().v1().jobs().inNamespace(ns).withName("once").get().getStatus(),
            s -> s != null && Integer.valueOf(1).equals(s.getSucceeded()));

    var broken = sh("unused");
    broken.getContainers().get(0).setCommand(List.of("/no/such/program"));
    createPod(ns, "broken", Map.of(), broken);
    var waiting =
        await()
            .atMost(WAIT)
            .until(
                () -> client.pods().inNamespace(ns).withName("broken").get().getStatus(),
                s ->
                    s.getContainerStatuses() != null
                        && !s.getContainerStatuses().isEmpty()
                        && s.getContainerStatuses().get(0).getState().getWaiting() != null
                        && "RunContainerError"
                            .equals(
                                s.getContainerStatuses()
                                    .get(0)
                                    .getState()
                                    .getWaiting()
                                    .getReason()))
            .getContainerStatuses()
            .get(0)
            .getState()
            .getWaiting();
    assertTrue(waiting.getMessage().contains("/no/such/program"), waiting.getMessage());
  }

  @Test
  void claimsGetLocalVolumesThatGoWithThem() throws Exception {
    var ns = namespace("kubelet-pvc");
    client
        .resource(
            new PersistentVolumeClaimBuilder()
                .withNewMetadata()
                .withName("data")
                .withNamespace(ns)
                .endMetadata()
                .withNewSpec()
                .withAccessModes("ReadWriteOnce")
                .withNewResources()
                .withRequests(Map.of("storage", new Quantity("1Gi")))
                .endResources()
                .endSpec()
                .build())
        .create();
    var spec = sh("echo written > /data/file.txt; echo ok");
    spec.setRestartPolicy("Never");
    spec.getContainers()
        .get(0)
        .setVolumeMounts(
            List.of(new VolumeMountBuilder().withName("data").withMountPath("/data").build()));
    spec.setVolumes(
        List.of(
            new VolumeBuilder()
                .withName("data")
                .withNewPersistentVolumeClaim()
                .withClaimName("data")
                .endPersistentVolumeClaim()
                .build()));
    createPod(ns, "writer", Map.of(), spec);
    awaitPhase(ns, "writer", "Succeeded"::equals);
    var claim = client.persistentVolumeClaims().inNamespace(ns).withName("data").get();
    assertEquals("Bound", claim.getStatus().getPhase());
    assertEquals("stepwise-local", claim.getSpec().getStorageClassName(), "the default class");
    var dir = kubelet.claimDirectory(ns, "data");
    assertEquals("written\n", Files.readString(dir.resolve("file.txt")));

    client.pods().inNamespace(ns).withName("writer").delete();
    client.persistentVolumeClaims().inNamespace(ns).withName("data").delete();
    await().atMost(WAIT).until(() -> !Files.exists(dir));
    await()
        .atMost(WAIT)
        .until(
            () ->
                client.persistentVolumes().withName(claim.getSpec().getVolumeName()).get() == null);
  }

  @Test
  void podsAuthenticateAsTheirServiceAccountAndReachServicesByName() throws Exception {
    var ns = namespace("kubelet-identity");
    // A server pod behind a Service, and a client pod that calls it by its in-cluster name and
    // prints its ServiceAccount token.
    // The server listens on the local port that stands for its container port 8000: the name
    // web-0.web.<ns>.svc:8000 in its env is rewritten to 127.0.0.1:<that port>.
    var server = sh("exec python3 -m http.server --bind 127.0.0.1 ${SELF##*:}");
    server.getContainers().get(0).setEnv(List.of(value("SELF", "web-0.web." + ns + ".svc:8000")));
    createPod(ns, "web-0", Map.of("app", "web"), server);
    createService(ns, "web", 80, 8000);
    awaitPhase(ns, "web-0", "Running"::equals);

    var caller =
        sh(
            "cat $KUBERNETES_AUTH_SERVICEACCOUNT_TOKEN > token.txt;"
                + " python3 -c 'import sys,urllib.request;"
                + " print(\"status\", urllib.request.urlopen(sys.argv[1]).status)' $URL");
    caller.setRestartPolicy("Never");
    caller.getContainers().get(0).setEnv(List.of(value("URL", "http://web." + ns + ".svc:80/")));
    createPod(ns, "caller", Map.of(), caller);
    awaitPhase(ns, "caller", phase -> "Succeeded".equals(phase) || "Failed".equals(phase));
    var log = kubelet.logTail(ns, "caller", 20);
    assertTrue(log.contains("status 200"), "the Service name led to the server pod:\n" + log);

    // The token is the pod's ServiceAccount: the API server knows it as that identity.
    var token = Files.readString(work.resolve("kubelet/pods/" + ns + "/caller/token.txt")).trim();
    var http = HttpClient.newBuilder().sslContext(ControlPlane.trusting(controlPlane.caFile()));
    var response =
        http.build()
            .send(
                HttpRequest.newBuilder(
                        URI.create(controlPlane.url() + "/api/v1/namespaces/" + ns + "/secrets"))
                    .header("Authorization", "Bearer " + token)
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertEquals(403, response.statusCode(), response.body());
    assertTrue(
        response.body().contains("system:serviceaccount:" + ns + ":default"), response.body());
  }

  @Test
  void aPodStartedBeforeItsServiceReachesItOnceTheServiceExists() {
    var ns = namespace("kubelet-late-service");
    // The caller starts first and retries, as a client whose Service is not created yet does (the
    // operator's create of it may be failing and retried); the Service comes after it runs.
    var caller =
        sh(
            "python3 -c 'import sys,time,urllib.request\n"
                + "for attempt in range(240):\n"
                + "  try:\n"
                + "    print(\"status\", urllib.request.urlopen(sys.argv[1], timeout=2).status); break\n"
                + "  except Exception as e:\n"
                + "    time.sleep(0.25)' $URL");
    caller.setRestartPolicy("Never");
    caller.getContainers().get(0).setEnv(List.of(value("URL", "http://late." + ns + ".svc:80/")));
    createPod(ns, "caller", Map.of(), caller);
    var server = sh("exec python3 -m http.server --bind 127.0.0.1 ${SELF##*:}");
    server.getContainers().get(0).setEnv(List.of(value("SELF", "late-0.late." + ns + ".svc:8000")));
    createPod(ns, "late-0", Map.of("app", "late"), server);
    awaitPhase(ns, "caller", "Running"::equals);
    createService(ns, "late", 80, 8000);
    awaitPhase(ns, "caller", phase -> "Succeeded".equals(phase) || "Failed".equals(phase));
    var log = kubelet.logTail(ns, "caller", 20);
    assertTrue(
        log.contains("status 200"), "the Service created after the caller led to it:\n" + log);
  }
}
