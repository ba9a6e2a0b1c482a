package dev.loupe.jobs.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.config.JobOptions;
import dev.loupe.jobs.testing.EchoAnnotatorFactory;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.junit.jupiter.api.Test;

/**
 * The streaming job flushes its network buffers only when full or in front of a checkpoint barrier (no flusher
 * thread): every operator of its graph has buffer timeout -1. That the dead letters still arrive, exactly once, is
 * {@link DeadLetterTest}'s.
 */
class StreamingJobBufferTimeoutTest {

    @Test
    void noOperatorOfTheJobFlushesOnATimer() {
        Configuration options = new Configuration();
        options.set(JobOptions.BOOTSTRAP_SERVERS, "kafka-1:9092");
        JobSettings settings = JobSettings.from(options);
        Configuration env = StreamingAnnotationJob.environmentConfiguration(settings);
        assertThat(env.get(ExecutionOptions.BUFFER_TIMEOUT_ENABLED)).isFalse();
        StreamExecutionEnvironment environment = StreamExecutionEnvironment.getExecutionEnvironment(env);
        StreamingAnnotationJob.build(environment, settings, EchoAnnotatorFactory.fast("buffer-timeout"), options);

        StreamGraph graph = environment.getStreamGraph();

        assertThat(graph.getStreamNodes()).isNotEmpty();
        assertThat(graph.getStreamNodes()).extracting(StreamNode::getBufferTimeout)
                .containsOnly(ExecutionOptions.DISABLED_NETWORK_BUFFER_TIMEOUT);
    }
}
