package dev.loupe.cli;

import dev.loupe.config.JobOptions;
import dev.loupe.jobs.streaming.KafkaClientProperties;
import dev.loupe.jobs.streaming.RegistrySettings;
import dev.loupe.schemas.serde.ValueFormat;
import org.apache.flink.configuration.Configuration;
import dev.loupe.jobs.streaming.StreamingArguments;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

/**
 * A command that talks to the streaming job's Kafka ({@code loupe send}, {@code loupe tail}): it takes the job's
 * Kafka client flags, {@code --kafka-config FILE} and {@code --kafka-property KEY=VALUE}
 * ({@link StreamingArguments#KAFKA_CLIENT}, views of {@code loupe.kafka.properties}), and {@code --schema-registry URL}
 * to speak the registry wire format as the job does.
 */
interface KafkaClientCommand {

    /** The command's picocli spec (injected with {@code @Spec}). */
    CommandSpec spec();

    /** The client properties given: the file's, overridden by the single ones, checked (see {@link KafkaClientProperties#of}). */
    default KafkaClientProperties kafkaProperties() {
        return KafkaClientProperties.of(flags().get(JobOptions.KAFKA_PROPERTIES));
    }

    /** The value format: the schema registry wire format with {@code --schema-registry URL}, else plain Avro. */
    default ValueFormat valueFormat() {
        return RegistrySettings.valueFormat(flags());
    }

    private Configuration flags() {
        return StreamingArguments.KAFKA_CLIENT.flagConfiguration(spec().commandLine().getParseResult());
    }

    /** Adds the Kafka client flags to every such (sub)command under {@code root}. */
    static void install(CommandLine root) {
        if (root.getCommand() instanceof KafkaClientCommand) {
            StreamingArguments.KAFKA_CLIENT.addFlagsTo(root.getCommandSpec());
        }
        root.getSubcommands().values().forEach(KafkaClientCommand::install);
    }
}
