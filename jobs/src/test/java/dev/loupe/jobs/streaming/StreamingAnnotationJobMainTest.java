package dev.loupe.jobs.streaming;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.jobs.testing.EchoModelFamily;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cluster entry point reads {@code flink run -D} / the cluster's config.yaml from its execution environment,
 * under the program arguments. The context environment here stands in for {@code flink run}'s: it carries the
 * cluster configuration and captures the job graph instead of submitting it.
 */
class StreamingAnnotationJobMainTest {

    /** A context environment as {@code flink run} installs one, capturing the stream graph on execute. */
    static final class ClusterContext extends StreamExecutionEnvironment {
        static StreamGraph captured;

        ClusterContext(Configuration conf) {
            super(conf);
        }

        static void install(Map<String, String> clusterConfig) {
            initializeContextEnvironment(programConf -> {
                Configuration conf = Configuration.fromMap(clusterConfig);
                conf.addAll(programConf);
                return new ClusterContext(conf);
            });
        }

        static void uninstall() {
            resetContextEnvironment();
        }

        @Override
        public JobExecutionResult execute(StreamGraph streamGraph) {
            captured = streamGraph;
            return null;
        }
    }

    @AfterEach
    void reset() {
        ClusterContext.uninstall();
        ClusterContext.captured = null;
    }

    @Test
    void mainReadsTheClusterConfigurationUnderItsArguments(@TempDir Path model) throws Exception {
        EchoModelFamily.writePackage(model);
        ClusterContext.install(Map.of(
                "loupe.kafka.bootstrap-servers", "kafka.cluster:9092",
                "loupe.model", model.toString(),
                "loupe.checkpoint.interval", "3s",
                "loupe.parallelism", "2",
                "taskmanager.numberOfTaskSlots", "4"));

        StreamingAnnotationJob.main(new String[0]);
        StreamGraph graph = ClusterContext.captured;
        assertThat(graph.getJobName()).isEqualTo(StreamingAnnotationJob.JOB_NAME);
        assertThat(graph.getCheckpointConfig().getCheckpointInterval()).isEqualTo(3_000);
        assertThat(graph.getStreamNodes()).extracting(StreamNode::getParallelism).containsOnly(2);

        StreamingAnnotationJob.main(new String[] {"-D", "loupe.checkpoint.interval=4s", "--parallelism", "1"});
        assertThat(ClusterContext.captured.getCheckpointConfig().getCheckpointInterval()).isEqualTo(4_000);
        assertThat(ClusterContext.captured.getStreamNodes()).extracting(StreamNode::getParallelism).containsOnly(1);
    }

    @Test
    void mainRefusesATypoInTheClusterConfiguration(@TempDir Path model) throws Exception {
        EchoModelFamily.writePackage(model);
        ClusterContext.install(Map.of("loupe.kafka.bootstrap-servers", "kafka.cluster:9092",
                "loupe.model", model.toString(), "loupe.checkpoint.intervall", "3s"));
        assertThatThrownBy(() -> StreamingAnnotationJob.main(new String[0]))
                .hasMessageContaining("unknown option loupe.checkpoint.intervall (cluster configuration)")
                .hasMessageContaining("loupe.checkpoint.interval");
        assertThat(ClusterContext.captured).isNull();
    }
}
