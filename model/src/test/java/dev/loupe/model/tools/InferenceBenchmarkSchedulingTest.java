package dev.loupe.model.tools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.model.tools.InferenceBenchmark.Scheduling;
import org.junit.jupiter.api.Test;

class InferenceBenchmarkSchedulingTest {

    @Test
    void schedulingsParseFromTheirCommandLineLabels() {
        for (Scheduling s : Scheduling.values()) {
            assertThat(Scheduling.parse(s.label())).isEqualTo(s);
        }
        assertThat(Scheduling.CONTINUOUS_OVERLAP.label()).isEqualTo("continuous-overlap");
        assertThat(Scheduling.CONTINUOUS_ON_LOOP.label()).isEqualTo("continuous-on-loop");
        assertThat(Scheduling.parse(" Continuous ")).isEqualTo(Scheduling.CONTINUOUS);
        assertThatThrownBy(() -> Scheduling.parse("dynamic")).hasMessageContaining("continuous-on-loop");
    }
}
