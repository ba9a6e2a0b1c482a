package dev.loupe.flink.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class AdmissionQueueTest {

    private final AtomicLong clock = new AtomicLong(1_000);

    @Test
    void anIdleLoopStartsWhenAGroupIsFullOrTheOldestWaitedTheDelay() throws Exception {
        AdmissionQueue<String> q = new AdmissionQueue<>(2, Duration.ofMillis(50), clock::get);
        q.offer("a", 1_000);
        q.offer("b", 1_010);
        assertThat(q.awaitWork()).as("full").isTrue();
        assertThat(q.poll(5)).containsExactly("a", "b");

        q.offer("c", 1_020);
        clock.set(1_070);   // c waited its 50 ms
        assertThat(q.awaitWork()).isTrue();
        assertThat(q.poll(0)).isEmpty();
        assertThat(q.poll(1)).containsExactly("c");
    }

    @Test
    void aLoneRequestWaitsForCompanyUntilItsDelayIsOver() throws Exception {
        AdmissionQueue<String> q = new AdmissionQueue<>(4, Duration.ofMillis(100), System::currentTimeMillis);
        long start = System.currentTimeMillis();
        q.offer("a", start);
        assertThat(q.awaitWork()).isTrue();
        assertThat(System.currentTimeMillis() - start).isGreaterThanOrEqualTo(100);
    }

    @Test
    void endLetsTheRestStartAtOnceThenEndsTheFeed() throws Exception {
        AdmissionQueue<String> q = new AdmissionQueue<>(4, Duration.ofHours(1), clock::get);
        CompletableFuture<Boolean> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return q.awaitWork();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        q.offer("a", 1_000);
        q.end();
        assertThat(waiting.get(10, TimeUnit.SECONDS)).isTrue();
        assertThat(q.poll(4)).containsExactly("a");
        assertThat(q.awaitWork()).as("ended and empty").isFalse();
        assertThatThrownBy(() -> q.offer("b", 1_000)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void cancelWakesAWaitingLoopAndStopsIt() throws Exception {
        AdmissionQueue<String> q = new AdmissionQueue<>(4, Duration.ofHours(1), clock::get);
        q.offer("a", 1_000);
        CompletableFuture<Boolean> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return q.awaitWork();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(50);
        assertThat(waiting).isNotDone();
        q.cancel();
        assertThat(waiting.get(10, TimeUnit.SECONDS)).isFalse();
        assertThat(q.cancelled()).isTrue();
    }

    @Test
    void refusesBadSettings() {
        assertThatThrownBy(() -> new AdmissionQueue<String>(0, Duration.ZERO, clock::get))
                .hasMessageContaining("batch.max-size");
    }
}
