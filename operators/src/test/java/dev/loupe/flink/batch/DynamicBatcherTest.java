package dev.loupe.flink.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class DynamicBatcherTest {

    @Test
    void aFullBufferIsReadyAtOnce() {
        DynamicBatcher<String> b = new DynamicBatcher<>(3, Duration.ofSeconds(1));
        b.add("a", 0);
        b.add("b", 0);
        assertThat(b.ready(0)).isFalse();
        assertThat(b.isFull()).isFalse();
        b.add("c", 0);
        assertThat(b.isFull()).isTrue();
        assertThat(b.ready(0)).isTrue();
        assertThat(b.take(0).elements()).containsExactly("a", "b", "c");
        assertThat(b.isEmpty()).isTrue();
        assertThat(b.ready(5_000)).isFalse();
    }

    @Test
    void aPartialBufferIsReadyWhenTheDelaySinceItsOldestElementIsOver() {
        DynamicBatcher<String> b = new DynamicBatcher<>(8, Duration.ofMillis(50));
        b.add("a", 100);
        b.add("b", 130);
        assertThat(b.deadline()).isEqualTo(150);
        assertThat(b.ready(149)).isFalse();
        assertThat(b.ready(150)).isTrue();
        Batch<String> batch = b.take(150);
        assertThat(batch.elements()).containsExactly("a", "b");
        assertThat(batch.queueMillis()).containsExactly(50L, 20L);

        b.add("c", 170);   // the next batch's delay counts from its own oldest element
        assertThat(b.deadline()).isEqualTo(220);
    }

    @Test
    void underInputPausedAPartialBufferWaitsWhileElementsKeepArrivingAndStartsWhenTheyPause() {
        DynamicBatcher<String> b = new DynamicBatcher<>(4, Duration.ofMillis(50), DynamicBatcher.Fill.INPUT_PAUSED);
        b.add("a", 100);
        b.add("b", 140);
        b.add("c", 180);   // the oldest waited 80 ms: a stream's batch would have started at 150
        assertThat(b.ready(179)).isFalse();
        assertThat(b.deadline()).isEqualTo(230);
        assertThat(b.ready(229)).isFalse();
        assertThat(b.ready(230)).isTrue();   // nothing arrived for the delay: the input paused
        b.add("d", 200);
        assertThat(b.ready(200)).isTrue();   // full
        assertThat(b.take(200).elements()).containsExactly("a", "b", "c", "d");

        b.add("e", 300);
        b.add("f", 310);
        assertThat(b.take(360).elements()).containsExactly("e", "f");
        b.add("g", 400);   // the latest arrival counts from this batch's own elements
        assertThat(b.deadline()).isEqualTo(450);

        DynamicBatcher<String> restored = new DynamicBatcher<>(4, Duration.ofMillis(50), DynamicBatcher.Fill.INPUT_PAUSED);
        restored.restore(b.entries());
        assertThat(restored.deadline()).isEqualTo(450);
    }

    @Test
    void takesAtMostOneBatchAndKeepsTheRestInOrder() {
        DynamicBatcher<String> b = new DynamicBatcher<>(2, Duration.ZERO);
        for (String s : List.of("a", "b", "c", "d", "e")) {
            b.add(s, 0);
        }
        assertThat(b.take(1).elements()).containsExactly("a", "b");
        assertThat(b.take(1).elements()).containsExactly("c", "d");
        assertThat(b.take(1).elements()).containsExactly("e");
    }

    @Test
    void restoredEntriesGoAheadOfNewOnesWithTheirArrivalTimes() {
        DynamicBatcher<String> before = new DynamicBatcher<>(4, Duration.ofMillis(50));
        before.add("e", 10);
        before.add("f", 12);
        List<DynamicBatcher.Entry<String>> checkpoint = before.entries();

        DynamicBatcher<String> after = new DynamicBatcher<>(4, Duration.ofMillis(50));
        after.add("g", 30);
        after.restore(checkpoint);
        assertThat(after.deadline()).isEqualTo(60);
        Batch<String> batch = after.take(60);
        assertThat(batch.elements()).containsExactly("e", "f", "g");
        assertThat(batch.queueMillis()).containsExactly(50L, 48L, 30L);
    }

    @Test
    void rejectsInvalidSettings() {
        assertThatThrownBy(() -> new DynamicBatcher<>(0, Duration.ofMillis(5))).hasMessageContaining("batch.max-size");
        assertThatThrownBy(() -> new DynamicBatcher<>(1, Duration.ofMillis(-5)))
                .hasMessageContaining("batch.max-delay");
    }
}
