package dev.loupe.jobs.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.flink.LoupeOptions;
import dev.loupe.jobs.testing.EchoAnnotatorFactory;
import dev.loupe.jobs.testing.OutputAudit;
import dev.loupe.jobs.testing.Requests;
import dev.loupe.jobs.testing.RunningJob;
import dev.loupe.jobs.testing.Topics;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.Task;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A slow model with a backlog in the requests topic: the source is held back, so the records between the source
 * and the model stay bounded while the topic still has a backlog.
 *
 * <p>The bound: at parallelism 1 the result path (source → decode → async fetch → preprocess → batcher →
 * inference) is one chained task, so a record emitted by the source but not yet handed to the model sits in
 * the async-fetch queue (at most {@code loupe.fetch.concurrency}), in the batcher (at most
 * {@code batch.max-size}), or in the batch being handed over (at most {@code batch.max-size} more);
 * {@link #NETWORK_SLACK} allows for an exchange between them should the operators ever be split into separate
 * tasks (buffers of 32 KiB holding records of more than 100 bytes: capped here by a small network budget).
 *
 * <p>Then the job is stopped with a savepoint, and the committed results hold every request id exactly once; should
 * they not, the failure says for each missing id whether it was written uncommitted, had no output at all, or never
 * reached the requests topic ({@link OutputAudit}).
 */
@Tag("slow")
class BackpressureTest {

    private static final int REQUESTS = 200;
    private static final int FETCH_CONCURRENCY = 4;
    private static final int BATCH_SIZE = 4;
    private static final int NETWORK_SLACK = 16;
    private static final Map<String, AtomicLong> EMITTED = new ConcurrentHashMap<>();

    @Test
    void inFlightRecordsStayBoundedWhileTheTopicHasABacklog(@TempDir Path savepoints) throws Exception {
        try (RunningJob job = new RunningJob()) {
            job.conf.set(LoupeOptions.FETCH_CONCURRENCY, FETCH_CONCURRENCY);
            job.conf.set(LoupeOptions.BATCH_MAX_SIZE, BATCH_SIZE);
            job.conf.set(LoupeOptions.BATCH_MAX_DELAY, Duration.ofMillis(20));
            JobSettings settings = job.settings();
            List<String> ids = IntStream.range(0, REQUESTS).mapToObj(i -> "r" + i).toList();
            List<AnnotationRequest> backlog = IntStream.range(0, REQUESTS)
                    .mapToObj(i -> Requests.inline(ids.get(i), Task.CAPTION, Requests.image(3, 3, "png", i))).toList();
            job.kafka.createTopics(1, settings.allTopics());
            job.topics.sendRequests(settings.requestsTopic(), backlog); // fails naming any request the broker did not take

            // the job as StreamingAnnotationJob.build wires it, with a counter right after the source
            StreamExecutionEnvironment env = RunningJob.environment(settings);
            env.enableCheckpointing(settings.checkpointInterval().toMillis());
            env.setParallelism(1);
            EMITTED.put(job.name, new AtomicLong());
            DataStream<byte[]> counted = StreamingAnnotationJob.source(env, settings)
                    .map(new CountEmitted(job.name)).name("count-emitted");
            StreamingAnnotationJob.annotateAndSink(counted, settings, EchoAnnotatorFactory.slow(job.name, 15), job.conf);
            job.started(env.executeAsync(job.name));

            long maxInFlight = 0;
            int samplesWithBacklog = 0;
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (EchoAnnotatorFactory.received(job.name) < REQUESTS && System.nanoTime() < deadline) {
                long received = EchoAnnotatorFactory.received(job.name);
                long emitted = EMITTED.get(job.name).get();
                if (emitted < REQUESTS && emitted > 0) {
                    samplesWithBacklog++;
                    maxInFlight = Math.max(maxInFlight, emitted - received);
                }
                Thread.sleep(20);
            }
            int bound = FETCH_CONCURRENCY + 2 * BATCH_SIZE + NETWORK_SLACK;
            System.out.printf("backpressure: max in flight %d (bound %d) over %d samples with a backlog%n",
                    maxInFlight, bound, samplesWithBacklog);
            assertThat(samplesWithBacklog).as("the source was held back while the model was busy").isGreaterThan(10);
            assertThat(maxInFlight).as("records between source and model").isLessThanOrEqualTo(bound);

            // bounded wait for the results (no settling: duplicates are looked for once the job has ended)
            job.topics.readCommitted(List.of(settings.resultsTopic()), REQUESTS, Topics::result, Duration.ZERO);
            job.stop(savepoints); // a final checkpoint commits what is still open, and the job ends
            OutputAudit audit = OutputAudit.of(job, ids);
            assertThat(audit.committedResultIds()).as("committed result ids after the job ended:%n%s", audit.explain())
                    .containsExactlyInAnyOrderElementsOf(ids);
            assertThat(audit.committedFailureIds()).as("dead letters").isEmpty();
        }
    }

    /** Counts the records the source emits, in the test's JVM. */
    private static final class CountEmitted implements MapFunction<byte[], byte[]> {
        private final String name;

        CountEmitted(String name) {
            this.name = name;
        }

        @Override
        public byte[] map(byte[] value) {
            EMITTED.get(name).incrementAndGet();
            return value;
        }
    }
}
