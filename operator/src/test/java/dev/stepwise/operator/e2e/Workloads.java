package dev.stepwise.operator.e2e;

import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/** The pod-owning objects of a namespace and the pod slots each of them wants. */
final class Workloads {

  static final String STATEFUL_SET = "StatefulSet";
  static final String DEPLOYMENT = "Deployment";
  static final String JOB = "Job";

  private Workloads() {}

  /** A StatefulSet, Deployment or Job, reduced to what the runner needs of it. */
  record Workload(
      String kind,
      String apiVersion,
      String name,
      String uid,
      Long generation,
      int replicas,
      PodTemplateSpec template,
      String templateHash,
      boolean onDelete,
      String serviceName,
      int backoffLimit) {

    /** Stable identity of replica {@code i}: the pod name for a StatefulSet. */
    String slot(int i) {
      return switch (kind) {
        case STATEFUL_SET -> name + "-" + i;
        case DEPLOYMENT -> "deployment/" + name + "/" + i;
        default -> "job/" + name;
      };
    }

    /** The labels the controller adds to the template's on a pod of replica {@code i}. */
    Map<String, String> podLabels(int i) {
      var labels = new LinkedHashMap<String, String>();
      if (template.getMetadata() != null && template.getMetadata().getLabels() != null) {
        labels.putAll(template.getMetadata().getLabels());
      }
      switch (kind) {
        case STATEFUL_SET -> {
          labels.put("apps.kubernetes.io/pod-index", String.valueOf(i));
          labels.put("statefulset.kubernetes.io/pod-name", slot(i));
          labels.put("controller-revision-hash", name + "-" + templateHash);
        }
        case DEPLOYMENT -> labels.put("pod-template-hash", templateHash);
        default -> {
          labels.put("job-name", name);
          labels.put("batch.kubernetes.io/job-name", name);
          labels.put("controller-uid", uid);
          labels.put("batch.kubernetes.io/controller-uid", uid);
        }
      }
      return labels;
    }

    /** The container port a Service targetPort or probe port names; {@code fallback} if unset. */
    Optional<Integer> containerPort(IntOrString port, int fallback) {
      if (port == null) {
        return Optional.of(fallback);
      }
      if (port.getIntVal() != null) {
        return Optional.of(port.getIntVal());
      }
      return template.getSpec().getContainers().stream()
          .flatMap(
              c -> c.getPorts() == null ? Stream.<ContainerPort>empty() : c.getPorts().stream())
          .filter(p -> port.getStrVal().equals(p.getName()))
          .map(ContainerPort::getContainerPort)
          .findFirst();
    }

    /** The Pod object the controller would create for {@code slot}. */
    Pod pod(String slot, String namespace) {
      // Only a StatefulSet's pods have an ordinal (their slot is their name: <sts>-<i>).
      var index =
          kind.equals(STATEFUL_SET) ? Integer.parseInt(slot.substring(name.length() + 1)) : 0;
      var podName =
          switch (kind) {
            case STATEFUL_SET -> slot;
            case DEPLOYMENT -> name + "-" + templateHash + "-" + randomSuffix();
            default -> name + "-" + randomSuffix();
          };
      var spec = new PodSpecBuilder(template.getSpec()).withNodeName("localhost");
      if (kind.equals(STATEFUL_SET)) {
        spec.withHostname(podName).withSubdomain(serviceName);
      }
      var metadata = template.getMetadata();
      return new PodBuilder()
          .withNewMetadata()
          .withName(podName)
          .withNamespace(namespace)
          .withLabels(podLabels(index))
          .withAnnotations(metadata == null ? null : metadata.getAnnotations())
          .withOwnerReferences(
              new OwnerReferenceBuilder()
                  .withApiVersion(apiVersion)
                  .withKind(kind)
                  .withName(name)
                  .withUid(uid)
                  .withController(true)
                  .withBlockOwnerDeletion(true)
                  .build())
          .endMetadata()
          .withSpec(spec.build())
          .withNewStatus()
          .withPhase("Pending")
          .endStatus()
          .build();
    }

    /** Whether the container is restarted after it exits with {@code code}. */
    boolean restarts(int code) {
      var policy = template.getSpec().getRestartPolicy();
      if (policy == null) {
        policy = kind.equals(JOB) ? "Never" : "Always";
      }
      return switch (policy) {
        case "Always" -> true;
        case "OnFailure" -> code != 0;
        default -> false;
      };
    }
  }

  /** Five characters like the ones Kubernetes appends to generated pod names. */
  private static String randomSuffix() {
    var alphabet = "bcdfghjklmnpqrstvwxz2456789";
    var random = ThreadLocalRandom.current();
    var out = new StringBuilder();
    for (int i = 0; i < 5; i++) {
      out.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return out.toString();
  }

  /** Every workload of {@code namespace} that is not being deleted. */
  static List<Workload> observe(KubernetesClient client, String namespace) {
    var workloads = new ArrayList<Workload>();
    for (var sts : client.apps().statefulSets().inNamespace(namespace).list().getItems()) {
      if (live(sts)) {
        var strategy = sts.getSpec().getUpdateStrategy();
        workloads.add(
            of(
                sts,
                replicas(sts.getSpec().getReplicas()),
                sts.getSpec().getTemplate(),
                strategy != null && "OnDelete".equals(strategy.getType()),
                sts.getSpec().getServiceName(),
                0));
      }
    }
    for (var deployment : client.apps().deployments().inNamespace(namespace).list().getItems()) {
      if (live(deployment)) {
        var replicas =
            Boolean.TRUE.equals(deployment.getSpec().getPaused())
                ? 0
                : replicas(deployment.getSpec().getReplicas());
        workloads.add(of(deployment, replicas, deployment.getSpec().getTemplate(), false, null, 0));
      }
    }
    for (var job : client.batch().v1().jobs().inNamespace(namespace).list().getItems()) {
      if (live(job)) {
        var suspended = Boolean.TRUE.equals(job.getSpec().getSuspend());
        var limit = job.getSpec().getBackoffLimit() == null ? 6 : job.getSpec().getBackoffLimit();
        workloads.add(
            of(
                job,
                finished(job) || suspended ? 0 : 1,
                job.getSpec().getTemplate(),
                false,
                null,
                limit));
      }
    }
    return workloads;
  }

  /** Whether a Job has its Complete or Failed condition. */
  static boolean finished(Job job) {
    return job.getStatus() != null
        && job.getStatus().getConditions() != null
        && job.getStatus().getConditions().stream()
            .anyMatch(
                c ->
                    ("Complete".equals(c.getType()) || "Failed".equals(c.getType()))
                        && "True".equals(c.getStatus()));
  }

  private static Workload of(
      HasMetadata owner,
      int replicas,
      PodTemplateSpec template,
      boolean onDelete,
      String serviceName,
      int backoffLimit) {
    var kind =
        owner instanceof StatefulSet
            ? STATEFUL_SET
            : owner instanceof Deployment ? DEPLOYMENT : JOB;
    return new Workload(
        kind,
        owner.getApiVersion(),
        owner.getMetadata().getName(),
        owner.getMetadata().getUid(),
        owner.getMetadata().getGeneration(),
        replicas,
        template,
        hash(template),
        onDelete,
        serviceName,
        backoffLimit);
  }

  private static boolean live(HasMetadata object) {
    return object.getMetadata().getDeletionTimestamp() == null;
  }

  private static int replicas(Integer replicas) {
    return replicas == null ? 1 : replicas;
  }

  /** Short digest of a pod template: changes exactly when the template does. */
  static String hash(PodTemplateSpec template) {
    try {
      var json = Serialization.asJson(template).getBytes(StandardCharsets.UTF_8);
      var digest = MessageDigest.getInstance("SHA-256").digest(json);
      return HexFormat.of().formatHex(digest, 0, 5);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }
}
