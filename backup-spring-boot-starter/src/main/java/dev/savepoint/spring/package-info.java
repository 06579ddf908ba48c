/** Spring Boot auto-configuration: plans from properties, scheduling, health, metrics and the endpoint. */
@NullMarked
package dev.savepoint.spring;

import org.jspecify.annotations.NullMarked;
