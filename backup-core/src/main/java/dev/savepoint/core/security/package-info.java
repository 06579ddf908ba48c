/** Who may do what, and proof of what was done: approvals and the signed approval policy, the audit log, manifest signing, redaction. */
@NullMarked
package dev.savepoint.core.security;

import org.jspecify.annotations.NullMarked;
