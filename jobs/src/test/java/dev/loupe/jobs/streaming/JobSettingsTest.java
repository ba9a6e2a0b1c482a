package dev.loupe.jobs.streaming;

import dev.loupe.config.JobOptions;
import dev.loupe.jobs.ModelRuntimes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.jobs.testing.EchoModelFamily;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kafka.lineage.KafkaDatasetFacet;
import org.apache.flink.connector.kafka.sink.TransactionNamingStrategy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JobSettingsTest {

    private static Configuration base() {
        Configuration conf = new Configuration();
        conf.set(JobOptions.BOOTSTRAP_SERVERS, "kafka-1:9092,kafka-2:9092");
        return conf;
    }

    @Test
    void defaultsAreUsable() {
        JobSettings s = JobSettings.from(base());
        assertThat(s.requestsTopic()).isEqualTo("loupe.requests");
        assertThat(s.checkpointInterval()).isEqualTo(Duration.ofSeconds(10));
        assertThat(s.allTopics()).containsExactly("loupe.requests", "loupe.results", "loupe.dead-letters");
    }

    @Test
    void perTaskTopicsAreKeyedByTaskInUpperCase() {
        Configuration conf = base();
        conf.set(JobOptions.RESULTS_TOPIC_PER_TASK, Map.of("caption", "results.caption", "Vqa", "results.vqa"));
        JobSettings s = JobSettings.from(conf);
        assertThat(s.resultsTopicPerTask()).containsOnly(
                Map.entry("CAPTION", "results.caption"), Map.entry("VQA", "results.vqa"));
        ResultRecordSerializer serializer = new ResultRecordSerializer(s.resultsTopic(), s.resultsTopicPerTask());
        assertThat(serializer.topicFor("caption")).isEqualTo("results.caption");
        assertThat(serializer.topicFor("rank")).isEqualTo("loupe.results");
    }

    @Test
    void transactionNamingIsIncrementingUnlessPoolingIsAsked() {
        assertThat(JobSettings.from(base()).transactionNaming()).isEqualTo(TransactionNamingStrategy.INCREMENTING);
        Configuration pooling = base();
        pooling.setString(JobOptions.TRANSACTION_NAMING.key(), "pooling");
        assertThat(JobSettings.from(pooling).transactionNaming()).isEqualTo(TransactionNamingStrategy.POOLING);
        Configuration unknown = base();
        unknown.setString(JobOptions.TRANSACTION_NAMING.key(), "random");
        assertThatThrownBy(() -> JobSettings.from(unknown)).hasMessageContaining("loupe.kafka.transaction-naming");
    }

    @Test
    void serializersNameEveryTopicTheyWrite() {
        // POOLING's abort of lingering transactions looks on these topics (the connector refuses a sink without them)
        ResultRecordSerializer results = new ResultRecordSerializer("loupe.results",
                Map.of("CAPTION", "results.caption", "VQA", "results.vqa", "RANK", "loupe.results"));
        assertThat(results.getKafkaDatasetFacet()).get().extracting(KafkaDatasetFacet::getTopicIdentifier)
                .satisfies(id -> assertThat(id.getTopics())
                        .containsExactly("loupe.results", "results.caption", "results.vqa"));
        FailureRecordSerializer failures = new FailureRecordSerializer("loupe.dead-letters");
        assertThat(failures.getKafkaDatasetFacet()).get()
                .satisfies(f -> assertThat(f.getTopicIdentifier().getTopics()).containsExactly("loupe.dead-letters"));
    }

    @Test
    void badValuesNameTheirOption() {
        assertThatThrownBy(() -> JobSettings.from(new Configuration()))
                .hasMessageContaining("loupe.kafka.bootstrap-servers is required");
        Configuration badHost = base();
        badHost.set(JobOptions.BOOTSTRAP_SERVERS, "localhost");
        assertThatThrownBy(() -> JobSettings.from(badHost)).hasMessageContaining("not host:port");
        Configuration badTopic = base();
        badTopic.set(JobOptions.RESULTS_TOPIC, "no spaces please");
        assertThatThrownBy(() -> JobSettings.from(badTopic)).hasMessageContaining("loupe.topics.results");
        Configuration sameTopic = base();
        sameTopic.set(JobOptions.DEAD_LETTER_TOPIC, "loupe.requests");
        assertThatThrownBy(() -> JobSettings.from(sameTopic)).hasMessageContaining("must differ");
        Configuration badTask = base();
        badTask.set(JobOptions.RESULTS_TOPIC_PER_TASK, Map.of("translate", "x"));
        assertThatThrownBy(() -> JobSettings.from(badTask)).hasMessageContaining("unknown task 'translate'");
        Configuration zero = base();
        zero.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ZERO);
        assertThatThrownBy(() -> JobSettings.from(zero)).hasMessageContaining("loupe.checkpoint.interval");
        Configuration p0 = base();
        p0.set(JobOptions.PARALLELISM, 0);
        assertThatThrownBy(() -> JobSettings.from(p0)).hasMessageContaining("loupe.parallelism");
    }

    @Test
    void modelLookupSaysWhyItFails(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> ModelRuntimes.resolve(null, new Configuration())).hasMessageContaining("--model is required");
        assertThatThrownBy(() -> ModelRuntimes.resolve(dir.resolve("absent"), new Configuration())).hasMessageContaining("is not a directory");
        assertThatThrownBy(() -> ModelRuntimes.resolve(dir, new Configuration()))
                .hasMessageStartingWith("no model runtime available for " + dir);
        EchoModelFamily.writePackage(dir);
        assertThat(ModelRuntimes.resolve(dir, new Configuration())).isNotNull();
    }
}
