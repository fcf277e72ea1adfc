package dev.stepwise.helm;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** `helm lint --strict` on the chart: warnings fail the build too. */
class ChartLintTest {

  @Test
  void lintStrictPasses() {
    var result = Chart.helm().lint().strict().call();

    assertThat(result.isFailed()).as("helm lint --strict: %s", result.getMessages()).isFalse();
  }
}
