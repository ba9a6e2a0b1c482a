package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.config.OptionCatalogue;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.config.JobOptions;
import dev.loupe.config.ModelOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.MemorySize;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --config FILE.yaml, -D and flags: precedence, typed validation, typo refusal, and the options in --help. */
class ConfigurationOptionsTest {

    @Test
    void yamlThenDashDThenFlagsEachWin(@TempDir Path dir) throws Exception {
        Path yaml = Files.writeString(dir.resolve("loupe.yaml"), """
                loupe:
                  topics:
                    requests: yaml.requests
                    results: yaml.results
                    results-per-task:
                      vqa: yaml.vqa
                  fetch:
                    file-roots: [/data/a, /data/b]
                    timeout: 3s
                    max-bytes: 5mb
                  kafka.properties:
                    client.id: from-yaml
                    request.timeout.ms: "1000"
                  runtime.threads: 3
                loupe.checkpoint.interval: 7s
                batch.max-size: 4
                parallelism.default: 3
                """);
        Configuration conf = RunCommand.parse("--config", yaml.toString(),
                "-D", "loupe.topics.results=d.results", "-Dloupe.checkpoint.interval=8s",
                "-D", "batch.max-size=5", "--batch-size", "6",
                "--results-topic-for", "caption=flag.caption", "--kafka-property", "client.id=from-flag").toConfiguration();

        assertThat(conf.get(JobOptions.REQUESTS_TOPIC)).isEqualTo("yaml.requests");      // YAML over default
        assertThat(conf.get(JobOptions.RESULTS_TOPIC)).isEqualTo("d.results");           // -D over YAML
        assertThat(conf.get(JobOptions.CHECKPOINT_INTERVAL)).isEqualTo(Duration.ofSeconds(8));
        assertThat(conf.get(LoupeOptions.BATCH_MAX_SIZE)).isEqualTo(6);                  // flag over -D
        assertThat(conf.get(JobOptions.DEAD_LETTER_TOPIC)).isEqualTo("loupe.dead-letters"); // default
        assertThat(conf.get(LoupeOptions.FETCH_FILE_ROOTS)).containsExactly("/data/a", "/data/b");
        assertThat(conf.get(LoupeOptions.FETCH_TIMEOUT)).isEqualTo(Duration.ofSeconds(3));
        assertThat(conf.get(LoupeOptions.FETCH_MAX_BYTES)).isEqualTo(MemorySize.parse("5mb"));
        assertThat(conf.get(JobOptions.RESULTS_TOPIC_PER_TASK))
                .isEqualTo(Map.of("vqa", "yaml.vqa", "caption", "flag.caption"));           // maps merge entry by entry
        assertThat(conf.get(JobOptions.KAFKA_PROPERTIES))
                .isEqualTo(Map.of("client.id", "from-flag", "request.timeout.ms", "1000"));
        assertThat(ModelOptions.runtimeOptions(conf).intraOpThreads()).isEqualTo(3);
        assertThat(conf.get(CoreOptions.DEFAULT_PARALLELISM)).isEqualTo(3);               // Flink's own keys pass
    }

    @Test
    void flagsNotGivenLeaveTheConfigurationAlone() {
        Configuration conf = RunCommand.parse("-D", "loupe.parallelism=4", "-D", "loupe.fetch.file-roots=/x;/y")
                .toConfiguration();
        assertThat(conf.get(JobOptions.PARALLELISM)).isEqualTo(4);
        assertThat(conf.get(LoupeOptions.FETCH_FILE_ROOTS)).containsExactly("/x", "/y");
        assertThat(conf.get(LoupeOptions.BATCH_MAX_SIZE)).isEqualTo(LoupeOptions.BATCH_MAX_SIZE.defaultValue());
    }

    // the failing runs name an empty --model folder, so a regression fails on the model instead of running a job

    @Test
    void typosAreRefusedWithTheCloseKeys(@TempDir Path dir) throws Exception {
        CliRun dashD = CliRun.of("run", "--model", dir.toString(), "-D", "loupe.fetch.concurency=3");
        assertThat(dashD.status()).isEqualTo(2);
        assertThat(dashD.err()).contains("unknown option loupe.fetch.concurency (-D)", "loupe.fetch.concurrency");

        Path yaml = Files.writeString(dir.resolve("c.yaml"), "loupe:\n  checkpoint:\n    intervall: 5s\n");
        CliRun file = CliRun.of("run", "--model", dir.toString(), "--config", yaml.toString());
        assertThat(file.status()).isEqualTo(2);
        assertThat(file.err()).contains("unknown option loupe.checkpoint.intervall (--config " + yaml + ")",
                "loupe.checkpoint.interval");

        assertThatThrownBy(() -> RunCommand.parse("-D", "batch.max-sise=3").toConfiguration())
                .hasMessageContaining("batch.max-size");
    }

    @Test
    void valuesAreCheckedAgainstTheirTypes(@TempDir Path dir) throws Exception {
        CliRun duration = CliRun.of("run", "--model", dir.toString(), "-D", "loupe.fetch.timeout=soon");
        assertThat(duration.status()).isEqualTo(2);
        assertThat(duration.err()).contains("loupe.fetch.timeout=soon (-D) is not a valid Duration");

        Path yaml = Files.writeString(dir.resolve("c.yaml"), "loupe.parallelism: many\n");
        assertThatThrownBy(() -> RunCommand.parse("--config", yaml.toString()).toConfiguration())
                .hasMessageContaining("loupe.parallelism=many (--config " + yaml + ") is not a valid Integer");

        assertThatThrownBy(() -> RunCommand.parse("--config", dir.resolve("missing.yaml").toString()).toConfiguration())
                .hasMessageContaining("no such file");
        Path broken = Files.writeString(dir.resolve("broken.yaml"), "loupe: [unclosed\n");
        assertThatThrownBy(() -> RunCommand.parse("--config", broken.toString()).toConfiguration())
                .hasMessageContaining("is not valid YAML");
    }

    @Test
    void helpListsEveryOptionWithTypeDefaultAndDescription() {
        CliRun help = CliRun.of("run", "--help");
        assertThat(help.status()).isZero();
        for (OptionCatalogue.Entry e : RunCommand.CATALOGUE.entries()) {
            assertThat(help.out()).contains(e.key() + "  (" + e.type());
        }
        assertThat(help.out()).contains("--config", "-D, --conf",
                "loupe.checkpoint.interval  (Duration, default: 10 s)",
                "loupe.fetch.file-roots  (List<String>, default: none)",
                "loupe.runtime.threads  (Integer, no default)",
                "Exactly-once checkpoint interval");
    }

    @Test
    void captionAndEnrichTakeTheSameConfiguration(@TempDir Path dir) throws Exception {
        Path yaml = Files.writeString(dir.resolve("c.yaml"), """
                loupe:
                  caption: {page-size: 50, max-new-tokens: 9}
                  enrich: {caption-column: yaml_caption, error-column: yaml_error}
                  parallelism: 2
                  runtime.threads: 1
                batch.max-size: 3
                """);
        Path captionYaml = Files.writeString(dir.resolve("caption.yaml"), """
                loupe:
                  caption: {page-size: 50, max-new-tokens: 9}
                  parallelism: 2
                  runtime.threads: 1
                batch.max-size: 3
                """);
        Configuration caption = CaptionCommand.parse("--input", dir.toString(), "--output", dir.resolve("out").toString(),
                "--config", captionYaml.toString(), "-D", "loupe.caption.page-size=60", "--max-new-tokens", "4")
                .toConfiguration();
        assertThat(caption.get(dev.loupe.jobs.caption.CaptionOptions.PAGE_SIZE)).isEqualTo(60);
        assertThat(caption.get(dev.loupe.jobs.caption.CaptionOptions.MAX_NEW_TOKENS)).isEqualTo(4);
        assertThat(caption.get(JobOptions.PARALLELISM)).isEqualTo(2);
        assertThat(caption.get(LoupeOptions.BATCH_MAX_SIZE)).isEqualTo(3);

        // loupe.caption.* is no option of loupe enrich: one file for both commands is refused, naming the key
        assertThatThrownBy(() -> EnrichCommand.parse("--model", dir.toString(), "--input", "t.csv", "--output", "o.csv",
                "--image-column", "path", "--config", yaml.toString()).toConfiguration())
                .hasMessageContaining("unknown option loupe.caption.page-size");
        Path enrichYaml = Files.writeString(dir.resolve("enrich.yaml"), """
                loupe:
                  enrich: {caption-column: yaml_caption, error-column: yaml_error}
                  parallelism: 2
                """);
        Configuration enrich = EnrichCommand.parse("--model", dir.toString(), "--input", "t.csv", "--output", "o.csv",
                "--image-column", "path", "--config", enrichYaml.toString(), "--error-column", "flag_error").toConfiguration();
        assertThat(enrich.get(dev.loupe.jobs.enrich.EnrichOptions.CAPTION_COLUMN)).isEqualTo("yaml_caption");
        assertThat(enrich.get(dev.loupe.jobs.enrich.EnrichOptions.ERROR_COLUMN)).isEqualTo("flag_error");
        assertThat(enrich.get(JobOptions.PARALLELISM)).isEqualTo(2);

        CliRun captionTypo = CliRun.of("caption", "--model", dir.toString(), "--input", dir.toString(),
                "--output", dir.resolve("out2").toString(), "-D", "loupe.caption.page-sise=5");
        assertThat(captionTypo.status()).isEqualTo(2);
        assertThat(captionTypo.err()).contains("unknown option loupe.caption.page-sise", "loupe.caption.page-size");

        for (String command : List.of("caption", "enrich")) {
            CliRun help = CliRun.of(command, "--help");
            OptionCatalogue catalogue = command.equals("caption") ? CaptionCommand.CATALOGUE : EnrichCommand.CATALOGUE;
            assertThat(help.status()).isZero();
            assertThat(help.out()).contains("--config", "Configuration options");
            for (OptionCatalogue.Entry e : catalogue.entries()) {
                assertThat(help.out()).contains(e.key() + "  (" + e.type());
            }
            assertThat(help.out()).doesNotContain("loupe.kafka.bootstrap-servers");
        }
    }

    @Test
    void catalogueFindsKeysNamespacesAndCloseKeys() {
        assertThat(OptionCatalogue.of(JobOptions.class).with(JobOptions.class).entries())
                .hasSameSizeAs(OptionCatalogue.of(JobOptions.class).entries());
        assertThat(OptionCatalogue.of(LoupeOptions.class).namespaces()).containsExactly("batch.", "loupe.");
        assertThat(OptionCatalogue.of(JobOptions.class).closeKeys("loupe.topic.results", 3))
                .first().isEqualTo("loupe.topics.results");
        assertThat(List.of(OptionCatalogue.of(JobOptions.class).find("loupe.kafka.properties.sasl.mechanism")
                .orElseThrow().key())).containsExactly("loupe.kafka.properties");
    }
}
