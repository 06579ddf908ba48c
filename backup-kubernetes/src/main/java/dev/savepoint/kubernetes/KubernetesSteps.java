package dev.savepoint.kubernetes;

import dev.savepoint.recovery.RecoveryStep;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Recovery steps on Kubernetes: stop the writers (scale the backend's Deployment to 0 and wait until no pod of it
 * is ready) before a restore, start them again afterwards (scale back and wait until the replicas are ready). The
 * client is fabric8's: in a pod it uses the service account, elsewhere the kubeconfig. Needs {@code get},
 * {@code patch} on the Deployment.
 */
public final class KubernetesSteps {
  private KubernetesSteps() {}

  /** The innermost message: fabric8's own ("Operation: [get] … failed.") says what, not why. */
  static String rootCause(Throwable e) {
    Throwable c = e;
    while (c.getCause() != null && c.getCause() != c) {
      c = c.getCause();
    }
    return c == e ? String.valueOf(e.getMessage()) : e.getMessage() + " — " + c;
  }

  /**
   * The annotation a stop (a scale to 0) leaves on the Deployment with its replica count before, for
   * {@link #scaleBack}: kept in the cluster, it survives a crashed or resumed recovery.
   */
  public static final String REPLICAS_BEFORE_STOP = "savepoint.dev/replicas-before-stop";

  /**
   * Scales {@code namespace/deployment} to {@code replicas} and waits until exactly that many are ready — for 0, until
   * no pod of it is left, terminating ones included. Scaling a running Deployment to 0 records its replica count in
   * {@link #REPLICAS_BEFORE_STOP}.
   */
  public static RecoveryStep scale(String name, KubernetesClient client, String namespace, String deployment,
      int replicas, Duration timeout) {
    return new Scale(name, client, namespace, deployment, replicas, timeout);
  }

  /**
   * Scales {@code namespace/deployment} back to the replica count recorded when a {@link #scale} step stopped it,
   * waits until they are ready, and removes the record. Fails, changing nothing, when there is no record.
   */
  public static RecoveryStep scaleBack(String name, KubernetesClient client, String namespace, String deployment,
      Duration timeout) {
    return new Scale(name, client, namespace, deployment, null, timeout);
  }

  private static final class Scale implements RecoveryStep {
    private final String name;
    private final KubernetesClient client;
    private final String namespace;
    private final String deployment;
    private final @Nullable Integer replicas; // null: back to the recorded count
    private final Duration timeout;

    Scale(String name, KubernetesClient client, String namespace, String deployment, @Nullable Integer replicas,
        Duration timeout) {
      this.name = name;
      this.client = client;
      this.namespace = namespace;
      this.deployment = deployment;
      this.replicas = replicas;
      this.timeout = timeout;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public Duration timeout() {
      return timeout;
    }

    @Override
    public String describe() throws IOException {
      Deployment d = find();
      int target = target(d);
      return "scale deployment " + what() + " from " + d.getSpec().getReplicas() + " to " + target + " replicas"
          + (replicas == null ? " (its size before the stop)" : "") + " and wait until " + target + " are ready";
    }

    @Override
    public Map<String, Object> run() throws IOException, InterruptedException {
      Deployment current = find();
      int target = target(current);
      Integer before = current.getSpec().getReplicas();
      try {
        client.apps().deployments().inNamespace(namespace).withName(deployment).edit(d -> {
          Map<String, String> annotations = d.getMetadata().getAnnotations() == null ? new java.util.HashMap<>()
              : new java.util.HashMap<>(d.getMetadata().getAnnotations());
          if (target == 0 && before != null && before > 0) {
            annotations.putIfAbsent(REPLICAS_BEFORE_STOP, Integer.toString(before));
          }
          d.getMetadata().setAnnotations(annotations);
          d.getSpec().setReplicas(target);
          return d;
        });
      } catch (KubernetesClientException e) {
        throw new IOException("cannot scale deployment " + what() + ": " + rootCause(e), e);
      }
      Instant deadline = Instant.now().plus(timeout);
      int ready = -1;
      while (Instant.now().isBefore(deadline)) {
        Deployment d = find();
        ready = d.getStatus() == null || d.getStatus().getReadyReplicas() == null ? 0 : d.getStatus().getReadyReplicas();
        // Stopped means no pod left: a terminating pod still writes for its grace period, ready or not.
        if (ready == target && (target > 0 || pods(d) == 0)) {
          if (replicas == null) {
            client.apps().deployments().inNamespace(namespace).withName(deployment).edit(e -> {
              e.getMetadata().getAnnotations().remove(REPLICAS_BEFORE_STOP);
              return e;
            });
          }
          return Map.of("deployment", what(), "replicasBefore", before == null ? 0 : before, "replicas", target);
        }
        Thread.sleep(500);
      }
      throw new IOException("deployment " + what() + " has " + ready + " ready replicas, not " + target
          + (ready == target ? " with no pod left (" + pods(find()) + " still terminating)" : "") + ", after " + timeout);
    }

    /** The pods the deployment's selector matches, terminating ones included. */
    private int pods(Deployment d) {
      if (d.getSpec().getSelector() == null || d.getSpec().getSelector().getMatchLabels() == null) {
        return 0;
      }
      return client.pods().inNamespace(namespace).withLabels(d.getSpec().getSelector().getMatchLabels()).list()
          .getItems().size();
    }

    @Override
    public String leaves() {
      return "deployment " + what() + (replicas != null && replicas == 0 ? " is scaled to 0 (writers stopped"
          : " runs (writers started") + " by step " + name + ")";
    }

    @Override
    public String stateIfFailed() {
      return "deployment " + what() + " may be between its old size and " + (replicas == null ? "its size before the "
          + "stop" : replicas + " replicas");
    }

    private int target(Deployment d) throws IOException {
      if (replicas != null) {
        return replicas;
      }
      String recorded = d.getMetadata().getAnnotations() == null ? null
          : d.getMetadata().getAnnotations().get(REPLICAS_BEFORE_STOP);
      if (recorded == null || !recorded.matches("\\d{1,6}")) {
        throw new IOException("deployment " + what() + " has no recorded size before a stop (annotation "
            + REPLICAS_BEFORE_STOP + "): it was not stopped by a scale step; give the replicas to scale to");
      }
      return Integer.parseInt(recorded);
    }

    private String what() {
      return namespace + "/" + deployment;
    }

    private Deployment find() throws IOException {
      Deployment d;
      try {
        d = client.apps().deployments().inNamespace(namespace).withName(deployment).get();
      } catch (KubernetesClientException e) {
        throw new IOException("cannot read deployment " + what() + " (" + client.getMasterUrl() + "): "
            + rootCause(e), e);
      }
      if (d == null) {
        throw new IOException("no deployment " + what());
      }
      return d;
    }
  }
}
