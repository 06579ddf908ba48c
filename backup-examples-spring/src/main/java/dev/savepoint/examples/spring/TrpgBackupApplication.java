package dev.savepoint.examples.spring;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * The TRPG backend's backups as a Spring Boot application: {@code application.yaml} holds the tier 1/2/3 plans;
 * the starter schedules them (one replica per backup), serves {@code /actuator/health/savepoint} (503 on an RPO breach),
 * {@code /actuator/prometheus} and {@code /actuator/savepoint/html}. {@code bash scripts/demo.sh spring} starts it
 * against a throwaway database.
 */
@SpringBootApplication
public class TrpgBackupApplication {
  public static void main(String[] args) {
    SpringApplication.run(TrpgBackupApplication.class, args);
  }
}
