package dev.loupe.jobs.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.config.JobOptions;
import dev.loupe.jobs.testing.EchoAnnotatorFactory;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.junit.jupiter.api.Test;

/** The streaming job's object reuse follows {@code loupe.object-reuse}, and none of its types needs Kryo. */
class StreamingJobObjectReuseTest {

    private static Configuration options() {
        Configuration conf = new Configuration();
        conf.set(JobOptions.BOOTSTRAP_SERVERS, "kafka-1:9092");
        return conf;
    }

    @Test
    void objectReuseIsOnUnlessTheOptionTurnsItOff() {
        assertThat(StreamingAnnotationJob.environmentConfiguration(JobSettings.from(options()))
                .get(PipelineOptions.OBJECT_REUSE)).isTrue();
        Configuration off = options();
        off.set(JobOptions.OBJECT_REUSE, false);
        assertThat(StreamingAnnotationJob.environmentConfiguration(JobSettings.from(off))
                .get(PipelineOptions.OBJECT_REUSE)).isFalse();
    }

    @Test
    void everyTypeOfTheJobHasASerializerOtherThanKryo() {
        JobSettings settings = JobSettings.from(options());
        Configuration env = StreamingAnnotationJob.environmentConfiguration(settings);
        env.set(PipelineOptions.GENERIC_TYPES, false);   // a generic type's serializer now fails the graph
        StreamExecutionEnvironment environment = StreamExecutionEnvironment.getExecutionEnvironment(env);
        StreamingAnnotationJob.build(environment, settings, EchoAnnotatorFactory.fast("streaming-types"), options());

        StreamGraph graph = environment.getStreamGraph();

        assertThat(graph.getStreamNodes()).isNotEmpty();
        assertThat(graph.getExecutionConfig().isObjectReuseEnabled()).isTrue();
    }
}
