package dev.loupe.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.flink.LoupeOptions;
import dev.loupe.jobs.caption.CaptionArguments;
import dev.loupe.jobs.caption.CaptionOptions;
import dev.loupe.jobs.enrich.EnrichArguments;
import dev.loupe.jobs.enrich.EnrichOptions;
import dev.loupe.jobs.streaming.StreamingArguments;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The job mains' own argument reader: every argument form, typed flags, flags that cannot drift from their options. */
class JobArgumentsTest {

    @Test
    void jobMainsTakeEveryArgumentForm(@TempDir Path dir) throws Exception {
        Path yaml = Files.writeString(dir.resolve("job.yaml"), "loupe.topics.requests: yaml.requests\nbatch.max-size: 3\n");
        Configuration conf = StreamingArguments.ARGUMENTS.parse(Map.of("loupe.parallelism", "4", "batch.max-size", "2"),
                "--bootstrap-servers=k:9092", "--model", "/models/m", "--config", yaml.toString(),
                "-Dloupe.topics.results=d.results", "-D", "loupe.restart.attempts=7", "--conf", "loupe.kafka.group-id=g",
                "--results-topic-for=caption=c.results", "--results-topic-for", "vqa=v.results",
                "--allowed-root", "/a", "/b/../c", "--allowed-host=images.internal", "--batch-delay=20ms",
                "--kafka-property", "client.id=me");
        assertThat(conf.get(JobOptions.BOOTSTRAP_SERVERS)).isEqualTo("k:9092");
        assertThat(conf.get(ModelOptions.MODEL)).isEqualTo("/models/m");
        assertThat(conf.get(JobOptions.PARALLELISM)).isEqualTo(4);                 // cluster configuration
        assertThat(conf.get(LoupeOptions.BATCH_MAX_SIZE)).isEqualTo(3);            // --config over the cluster's
        assertThat(conf.get(JobOptions.REQUESTS_TOPIC)).isEqualTo("yaml.requests");
        assertThat(conf.get(JobOptions.RESULTS_TOPIC)).isEqualTo("d.results");
        assertThat(conf.get(JobOptions.RESTART_ATTEMPTS)).isEqualTo(7);
        assertThat(conf.get(JobOptions.GROUP_ID)).isEqualTo("g");
        assertThat(conf.get(JobOptions.RESULTS_TOPIC_PER_TASK)).isEqualTo(Map.of("caption", "c.results", "vqa", "v.results"));
        assertThat(conf.get(LoupeOptions.FETCH_FILE_ROOTS)).containsExactly("/a", "/c");
        assertThat(conf.get(LoupeOptions.FETCH_ALLOWED_HOSTS)).containsExactly("images.internal");
        assertThat(conf.get(LoupeOptions.BATCH_MAX_DELAY)).isEqualTo(Duration.ofMillis(20));
        assertThat(conf.get(JobOptions.KAFKA_PROPERTIES)).isEqualTo(Map.of("client.id", "me"));
    }

    @Test
    void flagValuesAreCheckedAgainstTheirOptionsType() {
        assertThatThrownBy(() -> StreamingArguments.ARGUMENTS.parse(Map.of(), "--batch-size", "many"))
                .isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageContaining("--batch-size").hasMessageContaining("'many' is not a whole number");
        assertThatThrownBy(() -> StreamingArguments.ARGUMENTS.parse(Map.of(), "--checkpoint-interval", "soon"))
                .hasMessageContaining("'soon' is not a duration");
        assertThatThrownBy(() -> StreamingArguments.ARGUMENTS.parse(Map.of(), "--no-such-flag", "1"))
                .isInstanceOf(CommandLine.ParameterException.class);
        assertThatThrownBy(() -> StreamingArguments.ARGUMENTS.parse(Map.of(), "-D", "loupe.paralelism=2"))
                .hasMessageContaining("unknown option loupe.paralelism (-D)").hasMessageContaining("loupe.parallelism");
    }

    @Test
    void captionAndEnrichMainsReadTheirFlags() {
        Configuration caption = CaptionArguments.ARGUMENTS.parse(Map.of(), "--input", "a", "b;c", "--input", "d",
                "--output", "out", "--candidates", "[\"x;y\", \"it's\"]", "--do-sample", "--max-new-tokens=9");
        assertThat(caption.get(CaptionOptions.INPUTS)).containsExactly("a", "b;c", "d");
        assertThat(caption.get(CaptionOptions.OUTPUT)).isEqualTo("out");
        assertThat(caption.get(CaptionOptions.CANDIDATES)).containsExactly("x;y", "it's");
        assertThat(caption.get(CaptionOptions.DO_SAMPLE)).isTrue();
        assertThat(caption.get(CaptionOptions.MAX_NEW_TOKENS)).isEqualTo(9);
        assertThatThrownBy(() -> CaptionArguments.ARGUMENTS.parse(Map.of(), "--input", "a"))
                .isInstanceOf(CommandLine.MissingParameterException.class).hasMessageContaining("--output");
        assertThatThrownBy(() -> CaptionArguments.ARGUMENTS.parse(Map.of(), "--input", "a", "--output", "o",
                "--candidates", "[1]")).hasMessageContaining("every element must be a string");

        Configuration enrich = EnrichArguments.ARGUMENTS.parse(Map.of(), "--model", "m", "--input", "t.csv",
                "--output", "o.csv", "--image-column", "path", "--question", "q1", "--question", "color=q2",
                "--candidates", "kind=cat,dog", "--no-caption", "--candidate-scores");
        assertThat(enrich.get(EnrichOptions.QUESTIONS)).containsExactly("q1", "color=q2");
        assertThat(enrich.get(EnrichOptions.CANDIDATES)).isEqualTo(Map.of("kind", "cat|dog"));
        assertThat(enrich.get(EnrichOptions.CAPTION)).isFalse();
        assertThat(enrich.get(EnrichOptions.CANDIDATE_SCORES)).isTrue();
    }

    @Test
    void aFlagMustSetAnOptionOfItsJobWithTheRightShape() {
        assertThatThrownBy(() -> new JobArguments(OptionCatalogue.of(JobOptions.class), List.of(CommonFlags.BATCH_SIZE)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("batch.max-size");
        assertThatThrownBy(() -> new JobArguments(OptionCatalogue.of(JobOptions.class),
                List.of(Flag.value("--parallelism", JobOptions.PARALLELISM), Flag.value("--parallelism", JobOptions.GROUP_ID))))
                .hasMessageContaining("declared twice");
        @SuppressWarnings("unchecked")
        ConfigOption<Boolean> notBoolean = (ConfigOption<Boolean>) (ConfigOption<?>) JobOptions.GROUP_ID;
        assertThatThrownBy(() -> new JobArguments(OptionCatalogue.of(JobOptions.class),
                List.of(Flag.on("--group", notBoolean))))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("is a String");
    }

    @Test
    void flagHelpIsTheOptionsDescriptionAndDefault() {
        CommandLine cli = new CommandLine(StreamingArguments.ARGUMENTS.addTo(CommandLine.Model.CommandSpec.create()));
        String help = cli.getUsageMessage(CommandLine.Help.Ansi.OFF).replaceAll("\\s+", " ");
        assertThat(help).contains("--batch-size=N", "[batch.max-size]", "Requests per inference batch at most. While the model runs a batch, the next one fills up, so under backlog every batch has this many requests. Default: 8.",
                "--config=FILE.yaml",
                "-D, --conf=KEY=VALUE");
        for (Flag flag : StreamingArguments.ARGUMENTS.flags()) {
            assertThat(help).contains(flag.name(), "[" + flag.option().key() + "]");
        }
    }
}
