package dev.savepoint.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.recovery.RecoveryStep;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Against fabric8's own Kubernetes API server double (CRUD mode). It has no controllers, so the test plays the
 * Deployment controller: a thread that makes the ready replicas follow the spec after a delay.
 */
@EnableKubernetesMockClient(crud = true)
class KubernetesStepsTest {
  KubernetesClient client;

  Thread controller(AtomicBoolean running) {
    Thread t = new Thread(() -> {
      while (running.get()) {
        try {
          Deployment d = client.apps().deployments().inNamespace("prod").withName("trpg").get();
          Integer want = d.getSpec().getReplicas();
          Integer ready = d.getStatus() == null ? null : d.getStatus().getReadyReplicas();
          if (!want.equals(ready == null ? 0 : ready)) {
            Thread.sleep(300); // pods take a moment
            d.getStatus().setReadyReplicas(want);
            client.apps().deployments().inNamespace("prod").resource(d).updateStatus();
          }
          Thread.sleep(100);
        } catch (InterruptedException e) {
          return;
        } catch (RuntimeException e) {
          // a conflicting update: try again
        }
      }
    }, "fake-deployment-controller");
    t.setDaemon(true);
    t.start();
    return t;
  }

  @Test
  void writersStopAndStartByScalingTheDeployment() throws Exception {
    client.apps().deployments().inNamespace("prod").resource(new DeploymentBuilder().withNewMetadata()
        .withName("trpg").endMetadata().withNewSpec().withReplicas(3).endSpec().withNewStatus().withReadyReplicas(3)
        .endStatus().build()).create();
    AtomicBoolean running = new AtomicBoolean(true);
    Thread t = controller(running);
    try {
      RecoveryStep stop = KubernetesSteps.scale("stop-writers", client, "prod", "trpg", 0, Duration.ofSeconds(20));
      assertThat(stop.describe()).contains("from 3 to 0 replicas");
      assertThat(stop.run()).containsEntry("replicasBefore", 3).containsEntry("replicas", 0);
      assertThat(client.apps().deployments().inNamespace("prod").withName("trpg").get().getStatus().getReadyReplicas())
          .isZero();
      assertThat(client.apps().deployments().inNamespace("prod").withName("trpg").get().getMetadata().getAnnotations())
          .containsEntry(KubernetesSteps.REPLICAS_BEFORE_STOP, "3");
      // A resumed recovery stops again: the size before the first stop is kept, not the 0 of now.
      KubernetesSteps.scale("stop-writers", client, "prod", "trpg", 0, Duration.ofSeconds(20)).run();
      RecoveryStep start = KubernetesSteps.scaleBack("start-writers", client, "prod", "trpg", Duration.ofSeconds(20));
      assertThat(start.describe()).contains("from 0 to 3 replicas (its size before the stop)");
      assertThat(start.run()).containsEntry("replicas", 3);
      assertThat(client.apps().deployments().inNamespace("prod").withName("trpg").get().getMetadata().getAnnotations())
          .doesNotContainKey(KubernetesSteps.REPLICAS_BEFORE_STOP);
      assertThatThrownBy(() -> KubernetesSteps.scaleBack("start", client, "prod", "trpg", Duration.ofSeconds(2))
          .describe()).isInstanceOf(IOException.class).hasMessageContaining("has no recorded size before a stop");
    } finally {
      running.set(false);
      t.join(5000);
    }
    // No controller (pods that never become ready): the step fails after its timeout, saying how far it got.
    assertThatThrownBy(() -> KubernetesSteps.scale("stop", client, "prod", "trpg", 0, Duration.ofSeconds(2)).run())
        .isInstanceOf(IOException.class).hasMessageContaining("has 3 ready replicas, not 0");
    assertThatThrownBy(() -> KubernetesSteps.scale("x", client, "prod", "nope", 0, Duration.ofSeconds(2)).describe())
        .isInstanceOf(IOException.class).hasMessageContaining("no deployment prod/nope");
  }

  /** Issue 36.7: stopped means no pod left — a terminating pod still writes, however few replicas are ready. */
  @Test
  void aStopWaitsUntilTheLastPodIsGone() throws Exception {
    java.util.Map<String, String> labels = java.util.Map.of("app", "trpg");
    client.apps().deployments().inNamespace("prod").resource(new DeploymentBuilder().withNewMetadata()
        .withName("trpg").endMetadata().withNewSpec().withReplicas(1).withNewSelector().withMatchLabels(labels)
        .endSelector().endSpec().withNewStatus().withReadyReplicas(1).endStatus().build()).create();
    client.pods().inNamespace("prod").resource(new io.fabric8.kubernetes.api.model.PodBuilder().withNewMetadata()
        .withName("trpg-abc").withLabels(labels).endMetadata().build()).create();
    AtomicBoolean running = new AtomicBoolean(true);
    Thread t = controller(running);
    Thread terminating = new Thread(() -> {
      try {
        Thread.sleep(2000); // the pod's grace period
        client.pods().inNamespace("prod").withName("trpg-abc").delete();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    try {
      RecoveryStep stop = KubernetesSteps.scale("stop-writers", client, "prod", "trpg", 0, Duration.ofSeconds(20));
      terminating.start();
      long started = System.nanoTime();
      stop.run();
      assertThat(Duration.ofNanos(System.nanoTime() - started)).as("returned while a pod was left")
          .isGreaterThanOrEqualTo(Duration.ofMillis(1900));
      assertThat(client.pods().inNamespace("prod").list().getItems()).isEmpty();
      assertThat(stop.leaves()).isEqualTo("deployment prod/trpg is scaled to 0 (writers stopped by step stop-writers)");
    } finally {
      running.set(false);
      t.join(5000);
      terminating.join(5000);
    }
  }
}
