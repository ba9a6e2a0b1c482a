package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.config.Flag;
import dev.loupe.config.JobOptions;
import dev.loupe.jobs.streaming.StreamingArguments;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** Command-line flags cannot drift from the options they set: a setting's flag exists only as a view of its option. */
class FlagsAreOptionViewsTest {

    /** The flags of the configured commands that set no option (everything else comes from the job's arguments). */
    private static final Map<String, Set<String>> NOT_SETTINGS = Map.of(
            "run", Set.of("--demo-images"), "caption", Set.of(), "enrich", Set.of());

    @Test
    void everyFlagOfAJobCommandIsAViewOfAnOptionOfItsJob() {
        CommandLine loupe = Loupe.commandLine();
        List<String> configured = new ArrayList<>();
        loupe.getSubcommands().forEach((name, sub) -> {
            if (!(sub.getCommand() instanceof ConfiguredCommand command)) {
                return;
            }
            configured.add(name);
            Set<String> views = new HashSet<>(List.of("--config", "-D", "--conf"));
            command.arguments().flags().forEach(flag -> views.addAll(flag.names()));
            for (OptionSpec option : sub.getCommandSpec().options()) {
                if (option.usageHelp() || option.versionHelp()) {
                    continue;
                }
                for (String flag : option.names()) {
                    assertThat(views.contains(flag) || NOT_SETTINGS.get(name).contains(flag))
                            .as("loupe %s %s is a view of an option of its job", name, flag).isTrue();
                }
            }
            for (Flag flag : command.arguments().flags()) {
                assertThat(command.catalogue().find(flag.option().key())).as(flag.name()).isPresent();
            }
        });
        assertThat(configured).containsExactlyInAnyOrderElementsOf(NOT_SETTINGS.keySet());
    }

    @Test
    void sendAndTailTakeTheStreamingJobsKafkaClientFlags() {
        Set<String> kafkaFlags = new HashSet<>();
        StreamingArguments.ARGUMENTS.flags().stream()
                .filter(flag -> flag.option().equals(JobOptions.KAFKA_PROPERTIES))
                .forEach(flag -> kafkaFlags.addAll(flag.names()));
        assertThat(kafkaFlags).containsExactlyInAnyOrder("--kafka-config", "--kafka-property");
        CommandLine loupe = Loupe.commandLine();
        for (String command : List.of("send", "tail")) {
            Set<String> names = new HashSet<>();
            loupe.getSubcommands().get(command).getCommandSpec().options().forEach(o -> names.addAll(List.of(o.names())));
            assertThat(names).as(command).containsAll(kafkaFlags);
        }
    }
}
