/** Whole-platform recovery: plans of steps across databases, buckets and configuration, with reports. */
@NullMarked
package dev.savepoint.recovery;

import org.jspecify.annotations.NullMarked;
