package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.flink.LoupeOptions;
import dev.loupe.config.JobOptions;
import dev.loupe.jobs.streaming.StreamingAnnotationJob;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunCommandTest {

    @Test
    void optionsBecomeJobAndPipelineOptions(@TempDir Path root) {
        RunCommand command = RunCommand.parse("--bootstrap-servers", "k:9092", "--model", root.toString(),
                "--requests-topic", "in", "--results-topic-for", "caption=out.caption", "--allowed-root", root.toString(),
                "--allowed-host", "images.internal", "--allowed-host", "10.20.0.0/16",
                "--batch-size", "3", "--batch-delay", "20ms", "--checkpoint-interval", "2s", "--parallelism", "2",
                "-D", "loupe.fetch.concurrency=5");
        Configuration conf = command.toConfiguration();
        assertThat(conf.get(JobOptions.BOOTSTRAP_SERVERS)).isEqualTo("k:9092");
        assertThat(conf.get(JobOptions.REQUESTS_TOPIC)).isEqualTo("in");
        assertThat(conf.get(JobOptions.RESULTS_TOPIC_PER_TASK)).isEqualTo(Map.of("caption", "out.caption"));
        assertThat(conf.get(JobOptions.CHECKPOINT_INTERVAL)).isEqualTo(Duration.ofSeconds(2));
        assertThat(conf.get(JobOptions.PARALLELISM)).isEqualTo(2);
        assertThat(conf.get(LoupeOptions.FETCH_FILE_ROOTS)).isEqualTo(List.of(root.toAbsolutePath().toString()));
        assertThat(conf.get(LoupeOptions.FETCH_ALLOWED_HOSTS)).containsExactly("images.internal", "10.20.0.0/16");
        assertThat(conf.get(LoupeOptions.BATCH_MAX_SIZE)).isEqualTo(3);
        assertThat(conf.get(LoupeOptions.BATCH_MAX_DELAY)).isEqualTo(Duration.ofMillis(20));
        assertThat(conf.get(LoupeOptions.FETCH_CONCURRENCY)).isEqualTo(5);
    }

    @Test
    void refusesClearlyAnUnusableModelOrBadOptions(@TempDir Path dir) {
        assertThat(run("run", "--model", dir.toString())).contains("no model runtime available for " + dir);
        assertThat(run("run", "--model", dir.toString(), "--checkpoint-interval", "soon")).contains("not a duration");
    }

    @Test
    void clusterEntryPointNeedsKafkaAndAModel() {
        assertThatThrownBy(() -> StreamingAnnotationJob.main(new String[0]))
                .hasMessageContaining("--bootstrap-servers is required");
        assertThatThrownBy(() -> StreamingAnnotationJob.main(new String[] {"--bootstrap-servers", "k:9092"}))
                .hasMessageContaining("--model is required");
    }

    private static String run(String... args) {
        PrintStream saved = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int status = Loupe.execute(args);
            assertThat(status).isNotZero();
        } finally {
            System.setErr(saved);
        }
        return err.toString(StandardCharsets.UTF_8);
    }
}
