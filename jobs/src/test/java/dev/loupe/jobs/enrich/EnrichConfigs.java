package dev.loupe.jobs.enrich;

import dev.loupe.config.JobOptions;
import dev.loupe.jobs.testing.EchoModelFamily;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.flink.configuration.Configuration;

/** Enrich job configurations for the tests: what a user gives (model, input, output), on the echo model. */
final class EnrichConfigs {

    private EnrichConfigs() {}

    /**
     * {@code --model} (an echo model package written under {@code dir}), {@code --input} and {@code --output}, every
     * other option at its default but a short checkpoint interval (the journal commits quickly).
     */
    static Configuration userOptions(Path dir, Path input, Path output) throws IOException {
        Path model = dir.resolve("echo-model");
        Files.createDirectories(model);
        EchoModelFamily.writePackage(model);
        Configuration config = new Configuration();
        config.set(EnrichOptions.MODEL, model.toString());
        config.set(EnrichOptions.INPUT, input.toString());
        config.set(EnrichOptions.OUTPUT, output.toString());
        config.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(100));
        return config;
    }
}
