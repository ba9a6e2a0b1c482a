package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A small {@code loupe bench soak}: 300 requests, 5 % bad, through the embedded runtime with the tiny demo model;
 * checks the counts (never the timing): one result per good request, one dead letter per bad one, nothing else.
 */
@Tag("slow")
class SoakCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aSmallSoakRunAccountsForEveryRequestExactlyOnce() throws Exception {
        CliRun r = CliRun.of("bench", "soak", "--requests", "300", "--threads", "1", "--max-new-tokens", "4",
                "--min-new-tokens", "4", "--timeout", "4m", "--json");

        assertThat(r.status()).as(r.out() + r.err()).isZero();
        JsonNode o = JSON.readTree(r.out());
        assertThat(o.path("requests").asInt()).isEqualTo(300);
        assertThat(o.path("bad").asInt()).isEqualTo(15);
        assertThat(o.path("results").asInt()).isEqualTo(285);
        assertThat(o.path("dead_letters").asInt()).isEqualTo(15);
        assertThat(o.path("duplicates").asInt()).isZero();
        assertThat(o.path("lost").asInt()).isZero();
        assertThat(o.path("wrong_outcome").asInt()).isZero();
        assertThat(o.path("foreign").asInt()).isZero();
        assertThat(o.path("ok").asBoolean()).isTrue();
        assertThat(o.path("broker").asText()).as("the broker ran in its own process").isEqualTo("process");
        assertThat(r.err()).containsPattern("broker in its own process \\d+")
                .containsPattern("soak: window \\d+\\.\\d{3} \\d+\\.\\d{3} ");
        assertThat(o.path("dead_letters_by_code").fieldNames()).toIterable()
                .contains("IMAGE_NOT_FOUND", "INVALID_REQUEST", "UNDECODABLE_RECORD");
        assertThat(o.path("heap")).hasSizeGreaterThanOrEqualTo(2);
        // the default warm-up ran before the clock: its outcomes are not counted, and none came twice
        assertThat(o.path("warmup_requests").asInt()).isEqualTo(32);
        assertThat(o.path("heap").get(0).path("percent").asInt()).isZero();
        // full collections only at the warm-up and the end (both outside the throughput's clock)
        assertThat(o.path("heap").get(0).path("forced_gc").asBoolean()).isTrue();
        assertThat(o.path("heap").get(o.path("heap").size() - 1).path("forced_gc").asBoolean()).isTrue();
        for (int i = 1; i < o.path("heap").size() - 1; i++) {
            assertThat(o.path("heap").get(i).path("forced_gc").asBoolean()).as("sample " + i).isFalse();
        }
        assertThat(o.path("heap_warmup_bytes").asLong()).isPositive();
        assertThat(o.path("transaction_naming").asText()).isEqualTo("incrementing");
        assertThat(o.path("mean_batch_size").asDouble()).isBetween(1.0, 8.0);
        assertThat(o.path("steady_results_per_second").asDouble()).as("285 results are enough to tell").isPositive();
        assertThat(o.path("mean_millis_per_result").path("inference").asDouble()).isPositive();
        assertThat(o.path("mean_millis_per_result").has("fetch")).isTrue();
        assertThat(o.path("mean_millis_per_result").has("batch_wait")).isTrue();
    }

    @Test
    void underContinuousSchedulingAPacedMixAccountsForEveryRequestAndReportsLatencyPerLength() throws Exception {
        CliRun r = CliRun.of("bench", "soak", "--requests", "120", "--threads", "1", "--length-mix", "2,6",
                "--scheduling", "continuous", "--rate", "200", "--timeout", "4m", "--transaction-naming", "pooling",
                "--json");

        assertThat(r.status()).as(r.out() + r.err()).isZero();
        JsonNode o = JSON.readTree(r.out());
        assertThat(o.path("scheduling").asText()).isEqualTo("continuous");
        // the sinks' transactional ids pooled: every outcome is still accounted for exactly once
        assertThat(o.path("transaction_naming").asText()).isEqualTo("pooling");
        assertThat(o.path("duplicates").asInt()).isZero();
        assertThat(o.path("lost").asInt()).isZero();
        assertThat(o.path("wrong_outcome").asInt()).isZero();
        assertThat(o.path("ok").asBoolean()).isTrue();
        JsonNode latency = o.path("latency_millis_by_length");
        assertThat(latency.fieldNames()).toIterable().containsExactly("2", "6", "rank");
        assertThat(o.path("checkpoint_interval_millis").asLong()).isEqualTo(1000);
        JsonNode checkpoints = o.path("checkpoints");
        assertThat(checkpoints.path("completed").asLong()).isPositive();
        assertThat(checkpoints.path("p50_millis").asLong()).isLessThanOrEqualTo(checkpoints.path("p99_millis").asLong());
        assertThat(checkpoints.path("p99_millis").asLong()).isLessThanOrEqualTo(checkpoints.path("max_millis").asLong());
        JsonNode commitWait = o.path("commit_wait_millis_by_length");
        int results = 0;
        for (String length : List.of("2", "6", "rank")) {
            JsonNode p = latency.path(length);
            assertThat(p.path("p50").asLong()).as(length).isPositive().isLessThanOrEqualTo(p.path("p99").asLong());
            assertThat(p.path("p99").asLong()).as(length).isLessThanOrEqualTo(p.path("max").asLong());
            results += p.path("results").asInt();
            // the wait for the commit is a part of each result's latency, so of each percentile too
            JsonNode w = commitWait.path(length);
            assertThat(w.path("results").asInt()).as(length).isEqualTo(p.path("results").asInt());
            assertThat(w.path("p50").asLong()).as(length).isLessThanOrEqualTo(p.path("p50").asLong());
            assertThat(w.path("max").asLong()).as(length).isLessThanOrEqualTo(p.path("max").asLong());
        }
        assertThat(results).isEqualTo(o.path("results").asInt());
    }

    @Test
    void badSettingsAreRefusedBeforeAnythingStarts() {
        assertThat(CliRun.of("bench", "soak", "--requests", "0").status()).isEqualTo(2);
        CliRun bad = CliRun.of("bench", "soak", "--bad-fraction", "1.5");
        assertThat(bad.status()).isEqualTo(2);
        assertThat(bad.err()).contains("fraction");
        CliRun size = CliRun.of("bench", "soak", "--image-size", "640by480");
        assertThat(size.status()).isEqualTo(2);
        assertThat(size.err()).contains("--image-size");
        CliRun tokens = CliRun.of("bench", "soak", "--max-new-tokens", "4", "--min-new-tokens", "5");
        assertThat(tokens.status()).isEqualTo(2);
        assertThat(tokens.err()).contains("min new tokens");
        CliRun scheduling = CliRun.of("bench", "soak", "--scheduling", "sometimes");
        assertThat(scheduling.status()).isEqualTo(2);
        assertThat(scheduling.err()).contains("--scheduling");
        CliRun naming = CliRun.of("bench", "soak", "--transaction-naming", "random");
        assertThat(naming.status()).isEqualTo(2);
        assertThat(naming.err()).contains("--transaction-naming");
        CliRun rate = CliRun.of("bench", "soak", "--rate", "-1");
        assertThat(rate.status()).isEqualTo(2);
        assertThat(rate.err()).contains("--rate");
        CliRun mix = CliRun.of("bench", "soak", "--length-mix", "4,0");
        assertThat(mix.status()).isEqualTo(2);
        assertThat(mix.err()).contains("--length-mix");
        CliRun tasks = CliRun.of("bench", "soak", "--tasks", "caption,describe");
        assertThat(tasks.status()).isEqualTo(2);
        assertThat(tasks.err()).contains("--tasks").contains("describe");
        CliRun images = CliRun.of("bench", "soak", "--distinct-images", "0");
        assertThat(images.status()).isEqualTo(2);
        assertThat(images.err()).contains("distinct images");
        CliRun warmup = CliRun.of("bench", "soak", "--warmup-requests", "-1");
        assertThat(warmup.status()).isEqualTo(2);
        assertThat(warmup.err()).contains("--warmup-requests");
        CliRun broker = CliRun.of("bench", "soak", "--broker", "elsewhere");
        assertThat(broker.status()).isEqualTo(2);
        assertThat(broker.err()).contains("--broker must be process or in-process");
        CliRun niceInProcess = CliRun.of("bench", "soak", "--broker", "in-process", "--broker-niceness", "5");
        assertThat(niceInProcess.status()).isEqualTo(2);
        assertThat(niceInProcess.err()).contains("--broker-niceness needs --broker process");
        CliRun nice = CliRun.of("bench", "soak", "--broker-niceness", "20");
        assertThat(nice.status()).isEqualTo(2);
        assertThat(nice.err()).contains("--broker-niceness must be in 0..19");
    }
}
