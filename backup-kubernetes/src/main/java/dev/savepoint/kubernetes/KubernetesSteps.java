package dev.savepoint.kubernetes;

import dev.savepoint.recovery.RecoveryStep;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

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
    return c == e ? e.getMessage() : e.getMessage() + " — " + c;
  }

  /** Scales {@code namespace/deployment} to {@code replicas} and waits until exactly that many are ready. */
  public static RecoveryStep scale(String name, KubernetesClient client, String namespace, String deployment,
      int replicas, Duration timeout) {
    return new RecoveryStep() {
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
        return "scale deployment " + namespace + "/" + deployment + " from " + d.getSpec().getReplicas() + " to "
            + replicas + " replicas and wait until " + replicas + " are ready";
      }

      @Override
      public Map<String, Object> run() throws IOException, InterruptedException {
        Integer before = find().getSpec().getReplicas();
        try {
          client.apps().deployments().inNamespace(namespace).withName(deployment)
              .edit(d -> {
                d.getSpec().setReplicas(replicas);
                return d;
              });
        } catch (KubernetesClientException e) {
          throw new IOException("cannot scale deployment " + namespace + "/" + deployment + ": " + rootCause(e), e);
        }
        Instant deadline = Instant.now().plus(timeout);
        int ready = -1;
        while (Instant.now().isBefore(deadline)) {
          Deployment d = find();
          ready = d.getStatus() == null || d.getStatus().getReadyReplicas() == null ? 0 : d.getStatus().getReadyReplicas();
          if (ready == replicas) {
            return Map.of("deployment", namespace + "/" + deployment, "replicasBefore", before == null ? 0 : before,
                "replicas", replicas);
          }
          Thread.sleep(500);
        }
        throw new IOException("deployment " + namespace + "/" + deployment + " has " + ready + " ready replicas, not "
            + replicas + ", after " + timeout);
      }

      @Override
      public String stateIfFailed() {
        return "deployment " + namespace + "/" + deployment + " may be between its old size and " + replicas
            + " replicas";
      }

      private Deployment find() throws IOException {
        Deployment d;
        try {
          d = client.apps().deployments().inNamespace(namespace).withName(deployment).get();
        } catch (KubernetesClientException e) {
          throw new IOException("cannot read deployment " + namespace + "/" + deployment + " (" + client.getMasterUrl()
              + "): " + rootCause(e), e);
        }
        if (d == null) {
          throw new IOException("no deployment " + namespace + "/" + deployment);
        }
        return d;
      }
    };
  }
}
