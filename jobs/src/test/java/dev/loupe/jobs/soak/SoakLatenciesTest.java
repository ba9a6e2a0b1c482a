package dev.loupe.jobs.soak;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The soak's steady throughput: the rate results were written at once the pipeline was full. */
class SoakLatenciesTest {

    /** 40 batches of 16 results, one every {@code periodMillis}, each batch's results written within 3 ms. */
    private static long[] batches(long firstMillis, long periodMillis) {
        long[] out = new long[640];
        for (int b = 0; b < 40; b++) {
            for (int r = 0; r < 16; r++) {
                out[b * 16 + r] = firstMillis + b * periodMillis + r / 6;
            }
        }
        return out;
    }

    @Test
    void resultsWrittenABatchAtATimeGiveTheBatchRate() {
        // 16 results every 800 ms: 20 results/s, though they come in steps of 16
        assertThat(SoakLatencies.steadyPerSecond(batches(5_000, 800))).isCloseTo(20.0, within(0.2));
    }

    @Test
    void slowFirstAndLastBatchesAreLeftOut() {
        long[] steady = batches(5_000, 800);
        long[] slowEnds = steady.clone();
        // the second batch 2 s later than its period says (the job still compiling), the last one 2 s late too
        for (int i = 16; i < slowEnds.length; i++) {
            slowEnds[i] += 2_000;
        }
        for (int i = 624; i < 640; i++) {
            slowEnds[i] += 2_000;
        }
        double whole = 639_000.0 / (slowEnds[639] - slowEnds[0]);
        assertThat(whole).isLessThan(18.5);
        assertThat(SoakLatencies.steadyPerSecond(slowEnds)).isCloseTo(20.0, within(0.2));
    }

    @Test
    void orderOfArrivalDoesNotMatter() {
        long[] times = batches(0, 500);
        long[] shuffled = times.clone();
        for (int i = 0; i < shuffled.length / 2; i++) {   // reversed halves: read out of write order
            long t = shuffled[i];
            shuffled[i] = shuffled[shuffled.length - 1 - i];
            shuffled[shuffled.length - 1 - i] = t;
        }
        assertThat(SoakLatencies.steadyPerSecond(shuffled)).isEqualTo(SoakLatencies.steadyPerSecond(times));
        assertThat(SoakLatencies.steadyPerSecond(times)).isCloseTo(32.0, within(0.3));
    }

    @Test
    void tooFewResultsOrNoSpreadInTimeTellNothing() {
        assertThat(SoakLatencies.steadyPerSecond(new long[SoakLatencies.STEADY_MIN_RESULTS - 1])).isNaN();
        long[] sameMillisecond = new long[100];
        Arrays.fill(sameMillisecond, 1234);
        assertThat(SoakLatencies.steadyPerSecond(sameMillisecond)).isNaN();
    }

    @Test
    void countsEachRequestsFirstResultByItsWriteTime(@TempDir Path dir) throws Exception {
        SoakInputs inputs = SoakInputs.prepare(200, 0, 4, dir, 1);
        SoakLatencies latencies = new SoakLatencies(inputs);
        for (int i = 0; i < inputs.count(); i++) {
            latencies.written(i, 0);
        }
        // requests 0..179 get results written 50 ms apart (20/s), read a second later; the last 20 none
        for (int i = 0; i < 180; i++) {
            latencies.result(i, 1_000 + 50L * i, 10, 50L * i);
            latencies.result(i, 60_000, 10, 59_000);   // a duplicate does not count
        }
        assertThat(latencies.steadyPerSecond()).isCloseTo(20.0, within(1e-9));
    }
}
