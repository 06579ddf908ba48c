/** OpenPGP encryption of artifacts, KMS-wrapped passphrases and manifest signing keys. */
@NullMarked
package dev.savepoint.crypto;

import org.jspecify.annotations.NullMarked;
