package dev.loupe.jobs.soak;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class WriteAheadTest {

    @Test
    void theWriterWaitsOnceLeadRequestsAreWithoutAnOutcomeAndGoesOnAsOutcomesArrive() throws Exception {
        WriteAhead ahead = new WriteAhead(2);
        assertThat(ahead.awaitRoom(0)).isTrue();
        assertThat(ahead.awaitRoom(1)).isTrue();
        ExecutorService writer = Executors.newSingleThreadExecutor();
        try {
            CompletableFuture<Boolean> third = CompletableFuture.supplyAsync(() -> room(ahead, 2), writer);
            Thread.sleep(200);
            assertThat(third).as("two written, none accounted for").isNotDone();
            ahead.accounted(1);
            assertThat(third.get(10, TimeUnit.SECONDS)).isTrue();
            CompletableFuture<Boolean> fifth = CompletableFuture.supplyAsync(() -> room(ahead, 4), writer);
            ahead.accounted(2);   // 4 - 2 = 2 still without an outcome: not yet
            Thread.sleep(200);
            assertThat(fifth).isNotDone();
            ahead.accounted(1);   // a smaller count is an older one: ignored
            ahead.accounted(3);
            assertThat(fifth.get(10, TimeUnit.SECONDS)).isTrue();
        } finally {
            writer.shutdownNow();
        }
    }

    @Test
    void closingReleasesAWaitingWriterAndStopsLaterWrites() throws Exception {
        WriteAhead ahead = new WriteAhead(1);
        ExecutorService writer = Executors.newSingleThreadExecutor();
        try {
            CompletableFuture<Boolean> second = CompletableFuture.supplyAsync(() -> room(ahead, 1), writer);
            Thread.sleep(100);
            ahead.close();
            assertThat(second.get(10, TimeUnit.SECONDS)).isFalse();
            assertThat(ahead.awaitRoom(0)).isFalse();
        } finally {
            writer.shutdownNow();
        }
    }

    @Test
    void unboundedNeverWaitsAndANegativeLeadIsRefused() throws Exception {
        WriteAhead ahead = new WriteAhead(WriteAhead.UNBOUNDED);
        assertThat(ahead.awaitRoom(1_000_000)).isTrue();
        assertThatThrownBy(() -> new WriteAhead(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    private static boolean room(WriteAhead ahead, int index) {
        try {
            return ahead.awaitRoom(index);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
