package dev.loupe.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.config.JobOptions;
import dev.loupe.jobs.streaming.JobSettings;
import dev.loupe.jobs.streaming.StreamingAnnotationJob;
import dev.loupe.jobs.testing.EchoAnnotatorFactory;
import dev.loupe.jobs.testing.Requests;
import dev.loupe.jobs.testing.Topics;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.Task;
import dev.loupe.cli.Loupe;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.IntSupplier;
import java.util.List;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@code loupe run} does with no Kafka address: broker, topics, MiniCluster with web UI, clean stop. */
@Tag("slow")
class EmbeddedRuntimeTest {

    @TempDir
    Path dir;

    @Test
    void theRpcTimerTickIsCoarserUnlessTheJvmWasGivenOne() {
        String before = System.getProperty(EmbeddedRuntime.RPC_TICK_KEY);
        try {
            System.clearProperty(EmbeddedRuntime.RPC_TICK_KEY);
            EmbeddedRuntime.coarserRpcTimerTick();
            assertThat(System.getProperty(EmbeddedRuntime.RPC_TICK_KEY)).isEqualTo("100ms");
            System.setProperty(EmbeddedRuntime.RPC_TICK_KEY, "20ms");
            EmbeddedRuntime.coarserRpcTimerTick();
            assertThat(System.getProperty(EmbeddedRuntime.RPC_TICK_KEY)).isEqualTo("20ms");
        } finally {
            if (before == null) {
                System.clearProperty(EmbeddedRuntime.RPC_TICK_KEY);
            } else {
                System.setProperty(EmbeddedRuntime.RPC_TICK_KEY, before);
            }
        }
    }

    @Test
    void startsCreatesTopicsRunsTheJobAndShutsDownCleanly() throws Exception {
        Configuration conf = new Configuration();
        conf.set(JobOptions.BOOTSTRAP_SERVERS, "127.0.0.1:1"); // replaced below, as loupe run does
        conf.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(500));
        List<String> topics = JobSettings.from(conf).allTopics();

        EmbeddedRuntime runtime = EmbeddedRuntime.start(topics);
        int kafkaPort = runtime.kafka().brokerPort();
        int webPort = runtime.webPort();
        try {
            try (Admin admin = runtime.kafka().admin()) {
                assertThat(admin.listTopics().names().get()).containsAll(topics);
            }
            conf.set(JobOptions.BOOTSTRAP_SERVERS, runtime.bootstrapServers());
            JobSettings settings = JobSettings.from(conf);
            StreamExecutionEnvironment env = runtime.environment(StreamingAnnotationJob.environmentConfiguration(settings));
            StreamingAnnotationJob.build(env, settings, EchoAnnotatorFactory.fast("embedded"), conf);
            JobClient job = runtime.submit(env, StreamingAnnotationJob.JOB_NAME);
            assertThat(runtime.describe(topics)).contains(runtime.bootstrapServers(), runtime.webUrl(), "loupe.requests");

            Topics io = new Topics(runtime.kafka());
            io.sendRequests(settings.requestsTopic(), List.of(Requests.inline("one", Task.CAPTION, Requests.image(3, 3, "png", 1))));
            assertThat(io.readCommitted(List.of(settings.resultsTopic()), 1, Topics::result))
                    .extracting(AnnotationResult::getId).containsExactly("one");

            // the same through the command line: loupe send, then loupe tail
            Path image = Files.write(dir.resolve("tiny.png"), Requests.image(3, 3, "png", 2));
            String sent = stdout(() -> Loupe.execute("send", "--bootstrap-servers", runtime.bootstrapServers(),
                    "--image", image.toString(), "--inline")).strip();
            String printed = stdout(() -> Loupe.execute("tail", "--bootstrap-servers", runtime.bootstrapServers(),
                    "--max", "2", "--idle", "60s"));
            assertThat(printed.lines()).hasSize(2).anySatisfy(line -> assertThat(line).contains("\"" + sent + "\""));
            assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
            assertThat(Ports.isListening(webPort)).as("Flink web UI").isTrue();
        } finally {
            runtime.close();
        }
        assertThat(Ports.isListening(kafkaPort)).isFalse();
        // the MiniCluster stops asynchronously once the cancelled job has terminated
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (Ports.isListening(webPort) && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertThat(Ports.isListening(webPort)).as("web UI port freed").isFalse();
    }

    private static String stdout(IntSupplier command) {
        PrintStream saved = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            assertThat(command.getAsInt()).isZero();
        } finally {
            System.setOut(saved);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
