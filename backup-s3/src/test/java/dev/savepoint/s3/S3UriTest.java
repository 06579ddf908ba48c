package dev.savepoint.s3;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.ConfigurationException;
import org.junit.jupiter.api.Test;

/** Issue 40.9: a mistyped parameter of an S3 URI is refused, not silently the default (us-east-1). */
class S3UriTest {
  @Test
  void anUnknownParameterIsRefusedNamingTheNearest() {
    assertThatThrownBy(() -> S3Store.clientFromUri("s3://bucket/prefix?regoin=ap-northeast-1"))
        .isInstanceOf(ConfigurationException.class).hasMessageContaining("unknown S3 URI parameter 'regoin'")
        .hasMessageContaining("did you mean 'region'?");
    assertThatCode(() -> S3Store.clientFromUri("s3://bucket/prefix?region=ap-northeast-1&pathStyle=true").close())
        .doesNotThrowAnyException();
  }
}
