package dev.loupe.jobs.bounded;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.HeartbeatManagerOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.junit.jupiter.api.Test;

class BoundedJobRunnerTest {

    private static StreamExecutionEnvironment env() {
        Configuration conf = new Configuration();
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        StreamExecutionEnvironment env = BoundedJobRunner.localEnvironment(conf);
        env.setParallelism(2);
        return env;
    }

    @Test
    void countsEveryOutcomeFromTheRunningJobAndSummarises() throws Exception {
        List<String> outcomes = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            outcomes.add(i % 10 == 3 ? "IMAGE_CORRUPT" : i % 10 == 7 ? "IMAGE_TOO_LARGE" : "ok");
        }
        outcomes.add("IMAGE_CORRUPT");
        StreamExecutionEnvironment env = env();
        env.fromData(outcomes)
                .map(new OutcomeCounter<String>("test", s -> {
                    pause();
                    return s;
                }), Types.STRING)
                .sinkTo(new DiscardingSink<>());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

        JobSummary summary = new BoundedJobRunner(out, false, Duration.ofMillis(200), "images")
                .run(env, "runner-test", outcomes.size());

        assertThat(summary.status()).isEqualTo(JobSummary.Status.FINISHED);
        assertThat(summary.progress().ok()).isEqualTo(24);
        assertThat(summary.progress().failuresByCode()).containsExactly(
                Map.entry("IMAGE_CORRUPT", 4L), Map.entry("IMAGE_TOO_LARGE", 3L));
        assertThat(summary.progress().done()).isEqualTo(31);
        assertThat(summary.progress().resumed()).isZero();
        assertThat(bytes.toString(StandardCharsets.UTF_8)).doesNotContain("\r");

        Map<String, String> outputs = new LinkedHashMap<>();
        outputs.put("results", "/tmp/out/results.jsonl");
        List<String> lines = summary.lines("images", outputs);
        assertThat(lines.get(0)).startsWith("runner-test finished in ");
        assertThat(lines).contains("  31 of 31 images: 24 ok, 7 failed", "    IMAGE_CORRUPT: 4",
                "    IMAGE_TOO_LARGE: 3", "  results: /tmp/out/results.jsonl");
        assertThat(lines).anyMatch(l -> l.startsWith("  throughput: ") && l.endsWith("images/s (31 in this run)"));
    }

    private static void pause() {
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void theAccumulatorsAreSentAsOftenAsTheRunnerReportsThemBetweenOneAndTenSeconds() {
        assertThat(BoundedJobRunner.heartbeatFor(Duration.ofMillis(200))).isEqualTo(Duration.ofSeconds(1));
        assertThat(BoundedJobRunner.heartbeatFor(Duration.ofSeconds(3))).isEqualTo(Duration.ofSeconds(3));
        assertThat(BoundedJobRunner.heartbeatFor(Duration.ofSeconds(10))).isEqualTo(Duration.ofSeconds(10));
        assertThat(BoundedJobRunner.heartbeatFor(Duration.ofMinutes(1))).isEqualTo(Duration.ofSeconds(10));

        PrintStream out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        Configuration conf = new Configuration();
        StreamExecutionEnvironment everyTenSeconds =
                new BoundedJobRunner(out, false, Duration.ofSeconds(10), "images").localEnvironmentFor(conf);
        assertThat(everyTenSeconds.getConfiguration().get(HeartbeatManagerOptions.HEARTBEAT_INTERVAL))
                .isEqualTo(Duration.ofSeconds(10));
        assertThat(BoundedJobRunner.localEnvironment(conf).getConfiguration()
                .get(HeartbeatManagerOptions.HEARTBEAT_INTERVAL)).isEqualTo(Duration.ofSeconds(1));
        conf.set(HeartbeatManagerOptions.HEARTBEAT_INTERVAL, Duration.ofSeconds(4));
        assertThat(new BoundedJobRunner(out, false, Duration.ofSeconds(10), "images").localEnvironmentFor(conf)
                .getConfiguration().get(HeartbeatManagerOptions.HEARTBEAT_INTERVAL))
                .as("a heartbeat the job's configuration sets wins").isEqualTo(Duration.ofSeconds(4));
    }

    @Test
    void theProgressLineShowsDoneTotalRateFailuresAndEta() {
        Progress p = new Progress(400, 118, new TreeMap<>(Map.of("IMAGE_CORRUPT", 2L)), 0);
        assertThat(ProgressLine.of(p, 4.0, "images"))
                .isEqualTo("120/400 images (30%) · 4.00 images/s · 2 failed · ETA 1m10s");
        assertThat(ProgressLine.of(Progress.start(-1), Double.NaN, "rows")).isEqualTo("0 rows · - rows/s · 0 failed");
        assertThat(ProgressLine.duration(Duration.ofSeconds(7322))).isEqualTo("2h02m");
    }

    @Test
    void accumulatorsAddUpPerOutcome() {
        Map<String, Object> acc = Map.of("loupe.outcome.ok", 5L, "loupe.outcome.FETCH_FAILED", 2L,
                "loupe.resumed.results", 3L, "loupe.resumed.failures", 1L, "other", 9L);
        Progress p = Progress.fromAccumulators(acc, 10);
        assertThat(p.done()).isEqualTo(7);
        assertThat(p.resumed()).isEqualTo(4);
        assertThat(p.doneThisRun()).isEqualTo(3);
    }

    @Test
    void theSummarySaysHowFullTheBatchesWereAndWhereTheTimeWent() {
        Map<String, Object> acc = Map.of("loupe.outcome.ok", 4L, "loupe.outcome.FETCH_FAILED", 1L,
                "loupe.sum.batch-size", 30L, "loupe.sum.fetch-ms", 8L, "loupe.sum.preprocess-ms", 26L, "loupe.sum.batch-wait-ms", 200L,
                "loupe.sum.inference-ms", 1000L);
        Progress p = Progress.fromAccumulators(acc, 5);
        assertThat(p.failuresByCode()).containsOnlyKeys("FETCH_FAILED");
        JobSummary summary = new JobSummary("loupe caption", "id", JobSummary.Status.FINISHED, p,
                Duration.ofSeconds(2), null);
        assertThat(summary.lines("images", Map.of())).contains(
                "  mean batch 7.5; per result: read/fetch 2.0 ms, decode+resize 6.5 ms, waiting for a batch 50.0 ms, "
                        + "inference 250.0 ms (its batch's)");
        assertThat(new JobSummary("loupe caption", "id", JobSummary.Status.FINISHED, Progress.start(5),
                Duration.ofSeconds(2), null).lines("images", Map.of())).noneMatch(line -> line.contains("mean batch"));
    }

    @Test
    void theThroughputCountsFromTheFirstReadToTheLastResultAndSaysTheStartUpApart() {
        long submitted = 1_000_000L;
        Map<String, Object> acc = Map.of("loupe.outcome.ok", 30L, "loupe.outcome.IMAGE_CORRUPT", 2L,
                ActiveSpan.FIRST_READ_ACCUMULATOR, submitted + 4_000L,
                ActiveSpan.LAST_OUTCOME_ACCUMULATOR + ".results", submitted + 20_000L,
                ActiveSpan.LAST_OUTCOME_ACCUMULATOR + ".failures", submitted + 12_000L);
        JobSummary summary = new JobSummary("loupe caption", "id", JobSummary.Status.FINISHED,
                Progress.fromAccumulators(acc, 32), Duration.ofSeconds(21), submitted, null);
        assertThat(summary.progress().span().duration()).isEqualTo(Duration.ofSeconds(16));
        assertThat(summary.activeThroughput()).isEqualTo(2.0);
        assertThat(summary.startUp()).isEqualTo(Duration.ofSeconds(4));
        assertThat(summary.lines("images", Map.of())).contains("  throughput: 2.00 images/s from the first read to the "
                + "last result (32 in this run, 16.0 s); 1.52 images/s over the whole run (21.0 s, start-up 4.0 s)");
    }

    @Test
    void withoutAReadOrAResultTheSpanIsUnknown() {
        assertThat(ActiveSpan.NONE.known()).isFalse();
        assertThat(new ActiveSpan(5_000, 4_000).known()).as("a result before the first read").isFalse();
        Progress nothingRead = Progress.fromAccumulators(Map.of("loupe.outcome.ok", 0L), 0);
        assertThat(new JobSummary("loupe caption", "id", JobSummary.Status.FINISHED, nothingRead, Duration.ofSeconds(2),
                1L, null).activeThroughput()).isNaN();
    }
}
